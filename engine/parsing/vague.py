"""Vague instructions ("把一切都变好看", "make it better"): recognised, never guessed at.

A vague clause raises ``NeedsClarificationError`` whose suggestions are concrete edits in the
instruction's language plus the theme names, so the user (or the agent) can pick one.
"""

from __future__ import annotations

import re

from engine.themes import ThemeSpec
from imgedit.errors import NeedsClarificationError

# Politeness and pointing words that carry no edit: stripped before the vague test.
_FILLER = re.compile(
    r"(?i)\b(?:please|pls|can you|could you|would you|just|kindly|for me|some|a bit|a little|somehow)\b"
    r"|请|麻烦|帮我|帮忙|给我|你|能不能|可以|把它|将它|这张图片?|这张照片|图片|照片|整张图|整体|的|吧|呢|啊"
)
# Whole-clause patterns: generic requests to change something, with nothing named.
_GENERIC = re.compile(
    r"(?i)^(?:(?:change|edit|modify|adjust|fix|improve|enhance|tweak|update|beautify|polish|retouch"
    r"|touch\s+up|clean\s+up|do\s+something\s+(?:to|with))(?:\s+(?:it|this|that|the\s+(?:image|photo|picture|"
    r"pic)|everything|things))?(?:\s+up)?|do\s+something|do\s+your\s+(?:best|magic)|whatever|surprise\s+me"
    r"|改(?:一下|改|一改)?|修改(?:一下)?|调整(?:一下)?|调(?:一下|调)|编辑(?:一下)?|处理(?:一下)?|弄(?:一下|弄)?"
    r"|修(?:一下|修|图)?|p(?:一下)?|P(?:一下)?|随便(?:改改|弄弄|改|弄|修修|调调)?|优化(?:一下)?|美化(?:一下)?"
    r"|整理(?:一下)?)$"
)
# Words of taste with no concrete edit behind them.
_TASTE = re.compile(
    r"(?i)\b(?:better|nicer|prettier|beautiful|pretty|good|great|awesome|amazing|cool(?:er)?|pop|stunning"
    r"|attractive|appealing|perfect|professional[-\s]looking|look\s+good)\b"
    r"|好看|漂亮|美观|更美|变美|好一[点些]|更好|高级感?|有感觉|精致|出彩|大气|完美|美化|优化|一切|随便"
)


def is_vague(clause: str) -> bool:
    """True when ``clause`` asks for a change without naming one ("make it better", "改一下")."""
    core = " ".join(_FILLER.sub(" ", clause).split()).strip(" ,.!?，。！？、")
    if not core or _GENERIC.match(core):
        return True
    return bool(_TASTE.search(core))


_SUGGESTIONS = {
    "zh": ["提亮一点", "增加对比度", "暖一点", "背景虚化", "把背景换成白色", "去掉右下角的水印", "裁剪成1:1"],
    "en": [
        "make it brighter",
        "more contrast",
        "make it warmer",
        "blur the background",
        "change the background to white",
        "remove the watermark in the bottom-right corner",
        "crop to square",
    ],
}


def suggestions(language: str, themes: list[ThemeSpec]) -> list[str]:
    """Concrete edits to try, then one entry per theme, in the instruction's language."""
    if language == "zh":
        return [*_SUGGESTIONS["zh"], *(f"{theme.name_zh}风格" for theme in themes)]
    return [*_SUGGESTIONS["en"], *(f"apply the {theme.name} theme" for theme in themes)]


def needs_clarification(
    instruction: str, language: str, themes: list[ThemeSpec], *, what: str | None = None
) -> NeedsClarificationError:
    """The error for a vague instruction (or, with ``what``, for an edit missing a detail)."""
    if language == "zh":
        message = what or f"“{instruction}”太笼统了，请说明具体要改什么。"
        hint = "可以试试下面的具体修改或主题风格。"
    else:
        message = what or f"'{instruction}' is too vague to act on; say what to change."
        hint = "Try one of the concrete edits or themes below."
    return NeedsClarificationError(message, suggestions=suggestions(language, themes), hint=hint)
