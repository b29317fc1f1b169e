"""Theme requests: "情人节风格", "make this Valentine's themed", "apply the cyberpunk theme".

A theme word alone is not enough ("add a Christmas tree" is not the Christmas theme): the
clause must also say it wants a style ("风格", "theme", "look") or be nothing but the theme
name and words like "make it" / "改成".
"""

from __future__ import annotations

import re

from engine.parsing.clause import Clause
from engine.plan import Theme
from engine.themes import ThemeSpec

_STYLE_CUE = re.compile(
    r"(?i)风格|主题|效果|色调|氛围|感觉|滤镜|调色|画风|风|感"
    r"|\bstyle[ds]?\b|\btheme[ds]?\b|\blook\b|\bvibes?\b|\bfeel\b|\bmood\b|\baesthetic\b|\bfilter\b|\btones?\b"
    r"|\bmakeover\b|\bgrade\b"
)
_FILLER = re.compile(
    r"(?i)\b(?:make|it|this|the|image|photo|picture|pic|into|a|an|turn|convert|to|give|apply|use|with|in"
    r"|please|version|some|more|set|change|transform|effect|all|go|do|like|as)\b"
    r"|把|将|让|使|图片|照片|图|这张|整张|整体|改成|变成|换成|做成|弄成|调成|转成|转换成|转换为|转为|改为|来个|来一个|一个|一张"
    r"|请|帮我|给|加上|用|应用|套用|个|一点|有|点|些|版|的|成|先|再"
)


def _key_pattern(key: str) -> str:
    escaped = re.escape(key).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]*")
    return rf"(?<![A-Za-z]){escaped}(?![A-Za-z])" if key.isascii() else escaped


def parse_theme(clause: Clause, themes: list[ThemeSpec]) -> list[Theme] | None:
    """The theme ``clause`` asks for, matching slugs, both names and aliases, longest first."""
    keys = sorted(((key, theme) for theme in themes for key in theme.keys), key=lambda kv: -len(kv[0]))
    text = clause.masked
    for key, theme in keys:
        match = re.search(_key_pattern(key), text, re.IGNORECASE)
        if match is None:
            continue
        residue = text[: match.start()] + " " + text[match.end() :]
        cued = bool(_STYLE_CUE.search(residue))
        leftover = _FILLER.sub(" ", _STYLE_CUE.sub(" ", residue))
        if cued or not leftover.strip(" \t,.!?，。！？、'\""):
            return [Theme(name=theme.name, source=clause.source)]
    return None
