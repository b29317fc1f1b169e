"""Recognising "translate the text into English" / "把文字翻译成英文" and the language it names."""

from __future__ import annotations

import re
from typing import Literal

TargetLanguage = Literal["en", "zh"]

_EN_TARGET = re.compile(r"(?i)\btranslat\w*\b.*?\b(?:in)?to\s+(english|chinese|mandarin)\b")
_ZH_TARGET = re.compile(
    r"(?:翻译|翻譯|译|譯)(?:成|为|為|到)?\s*(英文|英语|英語|中文|汉语|漢語|简体中文|繁体中文)"
)
_ENGLISH = {"english", "英文", "英语", "英語"}

LANGUAGE_NAMES = {"en": ("English", "英文"), "zh": ("Chinese", "中文")}


def translation_target(instruction: str) -> TargetLanguage | None:
    """``"en"`` or ``"zh"`` when the instruction asks to translate the picture's text, else ``None``."""
    match = _EN_TARGET.search(instruction) or _ZH_TARGET.search(instruction)
    if match is None:
        return None
    return "en" if match.group(1).lower() in _ENGLISH else "zh"
