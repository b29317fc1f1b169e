"""Named places in both languages: "左下角" and "bottom-left corner" are the same ``Place``.

``take_place`` finds a place phrase in a clause and returns the clause without it, so the
rest of the parser reads "去掉右边的红色物体" as "去掉红色物体" at ``Place.RIGHT``.
"""

from __future__ import annotations

import re

from engine.plan import Place

_EN_CORNER = r"(?:\s+(?:corner|side|part|area|region|edge))?"
# (pattern, place); tried in this order, so corners come before the edges they contain.
_PLACE_PATTERNS: list[tuple[str, Place]] = [
    (r"左上(?:角|方|部|边|侧)?", Place.TOP_LEFT),
    (r"右上(?:角|方|部|边|侧)?", Place.TOP_RIGHT),
    (r"左下(?:角|方|部|边|侧)?", Place.BOTTOM_LEFT),
    (r"右下(?:角|方|部|边|侧)?", Place.BOTTOM_RIGHT),
    (rf"\b(?:top|upper)[\s-]*left{_EN_CORNER}|\bleft[\s-]*top{_EN_CORNER}", Place.TOP_LEFT),
    (rf"\b(?:top|upper)[\s-]*right{_EN_CORNER}|\bright[\s-]*top{_EN_CORNER}", Place.TOP_RIGHT),
    (rf"\b(?:bottom|lower)[\s-]*left{_EN_CORNER}|\bleft[\s-]*bottom{_EN_CORNER}", Place.BOTTOM_LEFT),
    (rf"\b(?:bottom|lower)[\s-]*right{_EN_CORNER}|\bright[\s-]*bottom{_EN_CORNER}", Place.BOTTOM_RIGHT),
    (r"背景(?:中|里|上)?(?=的)|背景(?:中|里|上)", Place.BACKGROUND),
    (r"\bin\s+the\s+background\b|\bbackground's\b", Place.BACKGROUND),
    (r"前景(?:中|里|上)?(?=的)|前景(?:中|里|上)", Place.FOREGROUND),
    (r"\bin\s+the\s+foreground\b", Place.FOREGROUND),
    (r"正中(?:间|央|心)?|中间|中央|中心|居中", Place.CENTER),
    (r"\b(?:in|at)\s+the\s+(?:middle|centre|center)\b|\bcent(?:er|re)\b|\bmiddle\b", Place.CENTER),
    (r"(?:顶部|顶端|上方|上面|上边|上部|最上面|最上方)", Place.TOP),
    (r"(?:底部|底端|下方|下面|下边|下部|最下面|最下方)", Place.BOTTOM),
    (r"(?:左边|左侧|左面|左方|左部|左半边)", Place.LEFT),
    (r"(?:右边|右侧|右面|右方|右部|右半边)", Place.RIGHT),
    (r"\b(?:at|on|along|across)\s+the\s+top\b|\btop\s+(?:edge|side|part|area)\b", Place.TOP),
    (r"\b(?:at|on|along|across)\s+the\s+bottom\b|\bbottom\s+(?:edge|side|part|area)\b", Place.BOTTOM),
    (r"\b(?:on|to|at)\s+the\s+left(?:[\s-]+(?:hand\s+)?side)?\b|\bleft[\s-]+(?:hand\s+)?side\b", Place.LEFT),
    (
        r"\b(?:on|to|at)\s+the\s+right(?:[\s-]+(?:hand\s+)?side)?\b|\bright[\s-]+(?:hand\s+)?side\b",
        Place.RIGHT,
    ),
]
_COMPILED = [(re.compile(pattern, re.IGNORECASE), place) for pattern, place in _PLACE_PATTERNS]

# Words that only tie a place phrase to the sentence: "在左下角的", "in the", "of the".
_ZH_PREFIX = re.compile(r"(?:在|位于|处于|放在|放到|到)$")
_ZH_SUFFIX = re.compile(r"^(?:角落)?(?:处|位置)?(?:的|里的|中的|上的)?")
_EN_PREFIX = re.compile(r"(?i)(?:\b(?:in|at|on|from|to|of)\s+(?:the\s+)?)$")
_EN_SUFFIX = re.compile(r"(?i)^(?:\s+(?:corner|of\s+the\s+(?:image|picture|photo)))?")


def take_place(clause: str) -> tuple[Place | None, str]:
    """The first place named in ``clause``, and the clause with that phrase removed."""
    for pattern, place in _COMPILED:
        match = pattern.search(clause)
        if match is None:
            continue
        start, end = match.start(), match.end()
        before, after = clause[:start], clause[end:]
        prefix = _ZH_PREFIX.search(before) or _EN_PREFIX.search(before)
        if prefix:
            before = before[: prefix.start()]
        suffix = _ZH_SUFFIX.match(after)
        if suffix and suffix.end():
            after = after[suffix.end() :]
        else:
            en_suffix = _EN_SUFFIX.match(after)
            if en_suffix:
                after = after[en_suffix.end() :]
        joiner = " " if before[-1:].isascii() and after[:1].isascii() else ""
        return place, " ".join(f"{before.rstrip()}{joiner}{after.lstrip()}".split())
    return None, clause
