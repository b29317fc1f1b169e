"""Keeping API keys out of every log line: a filter on the loggers that print request targets.

Browsers cannot set headers on a WebSocket, so a client may put its key in the URL
(``/v1/ws?token=ik_...``), and uvicorn logs every request target, WebSockets included, at INFO.
``SecretFilter`` rewrites each record before any handler sees it: the value of a ``token``
query parameter and anything shaped like a key (``ik_<id>_<secret>``) keep only the key's id,
which is what an operator needs to tell keys apart (``imgedit keys list``).
"""

from __future__ import annotations

import logging
import re

#: A key's secret part, wherever it appears; the id before it stays readable.
_KEY = re.compile(r"\b(ik_[0-9a-f]{12}_)[A-Za-z0-9_-]+")
#: The value of a token= query parameter that is not shaped like a key (a mistyped one).
_TOKEN_PARAM = re.compile(r"([?&](?:token|access_token|api_key|key)=)(?!ik_[0-9a-f]{12}_\*)[^&\s\"']+", re.I)
#: uvicorn's loggers (they print request lines and do not propagate) and the root logger, whose
#: handlers every other logger's records (ours: ``imgedit.*``) reach.
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "")


def redact(text: str) -> str:
    text = _KEY.sub(r"\1***", text)
    return _TOKEN_PARAM.sub(r"\1***", text)


class SecretFilter(logging.Filter):
    """Redacts keys from a record's final message (the message is formatted here, once)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_secret_filter() -> None:
    """Put ``SecretFilter`` on ``LOGGERS`` and their handlers (once each); call after uvicorn
    set up its logging. A logger's filter sees the records logged on it; a handler's, the
    records that propagate to it from any logger below."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, SecretFilter) for f in target.filters):
                target.addFilter(SecretFilter())
