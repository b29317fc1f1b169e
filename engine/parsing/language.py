"""Which language an instruction is in, so answers and suggestions come back in it."""

from __future__ import annotations

import re
from typing import Literal

from engine.parsing.quotes import strip_quotes

Language = Literal["zh", "en", "mixed"]

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> Language:
    has_cjk, has_latin = bool(_CJK.search(text)), bool(_LATIN.search(text))
    if has_cjk and has_latin:
        return "mixed"
    return "zh" if has_cjk else "en"


def instruction_language(instruction: str) -> Language:
    """Judge the language without the quoted text: "把'SALE'换成'NEW'" is a Chinese instruction."""
    unquoted = strip_quotes(instruction)
    return detect_language(unquoted if _CJK.search(unquoted) or _LATIN.search(unquoted) else instruction)


def reply_language(text: str) -> Literal["zh", "en"]:
    """The language to answer in: Chinese unless Latin letters outnumber Chinese characters
    two to one (a Chinese character carries about as much as a short English word)."""
    unquoted = strip_quotes(text)
    cjk, latin = len(_CJK.findall(unquoted)), len(_LATIN.findall(unquoted))
    return "zh" if cjk and cjk * 2 >= latin else "en"
