"""Errors only the service raises, and the handlers that turn every error into JSON.

Bad input is a 4xx ``{"code", "message", "hint"?}``; a failure of ours is a 500 with the same
shape and no traceback (the traceback goes to the log).
"""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from imgedit.errors import BadInputError, ImgEditError

log = logging.getLogger("imgedit.server")


class UnauthorizedError(BadInputError):
    code = "unauthorized"
    http_status = 401


class RateLimitedError(BadInputError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, hint=f"Retry in {retry_after:.1f} s.")
        self.retry_after = retry_after


class PayloadTooLargeError(BadInputError):
    code = "payload_too_large"
    http_status = 413


class NotImplementedYetError(ImgEditError):
    code = "not_implemented"
    http_status = 501


class AgentUnavailableError(ImgEditError):
    code = "agent_unavailable"
    http_status = 503


class QuotaExceededError(BadInputError):
    """A tenant holds as much of something as the service keeps for one (a 429 without a
    ``Retry-After``: waiting does not help, freeing or a higher limit does)."""

    code = "quota_exceeded"
    http_status = 429


class StorageFullError(ImgEditError):
    """The disk (or bucket) refused a write: nothing half-written was kept; try later."""

    code = "storage_full"
    http_status = 507


class ErrorBody(BaseModel):
    """Every error answer: a stable ``code``, a ``message`` for people, and maybe a ``hint``."""

    code: str
    message: str
    hint: str | None = None


#: The answers every ``/v1`` operation may give besides its own, for the OpenAPI spec.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input (`bad_input`), with what to change."},
    401: {"model": ErrorBody, "description": "No key, or an unknown or revoked one (`unauthorized`)."},
    404: {"model": ErrorBody, "description": "No such object for this tenant (`not_found`)."},
    413: {
        "model": ErrorBody,
        "description": "Upload or image over the limits (`payload_too_large`, `image_too_large`).",
    },
    429: {
        "model": ErrorBody,
        "description": "Over the rate limit (`rate_limited`, see `Retry-After`) or a quota "
        "(`quota_exceeded`).",
    },
    503: {
        "model": ErrorBody,
        "description": "Something the request needs is unavailable (`agent_unavailable`, "
        "`storage_unavailable`); try again later.",
    },
    507: {"model": ErrorBody, "description": "Storage full (`storage_full`); nothing was kept."},
}

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "payload_too_large"}


def error_response(exc: ImgEditError) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if isinstance(exc, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


#: errno values that mean "the storage refused to hold more": no space, over quota, over a file
#: size limit.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def storage_full(exc: BaseException) -> StorageFullError | None:
    """A ``StorageFullError`` when ``exc`` (or what caused it) is the disk or database being
    full, else ``None``. Writes are atomic (blobs are renamed into place, database writes are
    transactions), so when this is raised nothing half-written was kept."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            break
        if "database or disk is full" in str(seen):
            break
        seen = seen.__cause__ or seen.__context__
    else:
        return None
    return StorageFullError(
        "The service's storage is full; nothing of this request was kept.",
        hint="Try again later; the operator must free space or grow the storage.",
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ImgEditError)
    async def _imgedit_error(_request: Request, exc: ImgEditError) -> JSONResponse:
        if exc.http_status >= 500:
            log.warning("%s: %s", exc.code, exc.message)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(_problem(err) for err in exc.errors())
        return JSONResponse(
            {
                "code": "invalid_request",
                "message": f"The request is not valid: {problems}.",
                "hint": "Fix the fields named; /docs (and docs/api.md) describes each one.",
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        body: dict[str, str] = {"code": code, "message": str(exc.detail)}
        if exc.status_code in (404, 405) and exc.detail == HTTPStatus(exc.status_code).phrase:
            # The router's own answer to a mistyped path or method: name what was asked for.
            body["message"] = f"{request.method} {request.url.path}: {exc.detail}."
            body["hint"] = "The API's routes and methods are listed at /docs (and in docs/api.md)."
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(OSError)
    @app.exception_handler(DBAPIError)
    async def _storage_error(_request: Request, exc: Exception) -> JSONResponse:
        # Handled here, inside the app, rather than by the catch-all below: that one re-raises
        # to the server, which then drops the client's connection as well.
        full = storage_full(exc)
        if full is None:
            return _internal_error(exc)
        log.error("storage full: %s", exc)
        return error_response(full)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(exc)


def _internal_error(exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(
        {"code": "internal_error", "message": "Something went wrong on our side; it has been logged."},
        status_code=500,
    )


def _problem(error: dict[str, Any]) -> str:
    """One validation error as ``field: what is wrong``.

    A form field sent empty reaches validation as missing (FastAPI drops empty form values), so
    "Field required" would puzzle someone who did send it: the message says "missing or empty".
    """
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
    what = "missing or empty" if error.get("type") == "missing" else error.get("msg")
    return f"{where}: {what}"
