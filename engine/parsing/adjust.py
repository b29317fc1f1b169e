"""Global tone adjustments in both languages: "make it brighter", "调暗一点", "more contrast".

Each phrase maps to one field of ``Adjust`` and a direction; degree words ("a little", "一点",
"much", "很多") scale the strength.
"""

from __future__ import annotations

import re

from engine.plan import Adjust

# (pattern, field, sign); patterns are matched case-insensitively against the whole clause.
_ADJUST_PATTERNS: list[tuple[str, str, float]] = [
    (r"bright(er|en)|lighter|lighten|more light|提亮|调亮|变亮|亮一[点些]|更亮|亮度提高|加亮", "brightness", 1.0),
    (r"dark(er|en)|dimmer|调暗|变暗|暗一[点些]|更暗|压暗|亮度降低", "brightness", -1.0),
    (r"more contrast|increase contrast|higher contrast|punchier|对比度?(提高|增强|加强|大一)|增加对比|加强对比",
     "contrast", 1.0),
    (r"less contrast|lower contrast|reduce contrast|flatter|对比度?(降低|减弱|小一)|降低对比", "contrast", -1.0),
    (r"more saturat|more vivid|more colou?rful|saturate|vibrant|饱和度?(提高|增加|高一)|更鲜艳|鲜艳一[点些]",
     "saturation", 1.0),
    (r"less saturat|desaturate|muted|more muted|饱和度?(降低|减少|低一)|淡一[点些]", "saturation", -1.0),
    (r"warmer|warm (it )?up|more warm|暖一[点些]|更暖|暖色调|偏暖", "warmth", 1.0),
    (r"cooler|colder|cool (it )?down|冷一[点些]|更冷|冷色调|偏冷", "warmth", -1.0),
    (r"sharpen|sharper|crisper|锐化|更清晰|清晰一[点些]", "sharpness", 1.0),
    (r"soften|softer|blurrier|柔和一[点些]|更柔和", "sharpness", -1.0),
]
_WEAK = re.compile(r"a (little|bit)|slightly|a touch|一点|一些|稍微|略|微微|有点")
_STRONG = re.compile(r"\bmuch\b|a lot|very|way|significantly|很多|非常|大幅|特别|更加|很")
_COMPILED = [(re.compile(p, re.IGNORECASE), f, s) for p, f, s in _ADJUST_PATTERNS]


def parse_adjust(clause: str) -> Adjust | None:
    """The ``Adjust`` a clause asks for, or ``None`` when it names no global adjustment."""
    amounts: dict[str, float] = {}
    for pattern, field, sign in _COMPILED:
        if pattern.search(clause) and field not in amounts:
            amounts[field] = sign
    if not amounts:
        return None
    strength = 0.5
    if _WEAK.search(clause):
        strength = 0.25
    elif _STRONG.search(clause):
        strength = 0.8
    return Adjust(source=clause.strip(), **{field: sign * strength for field, sign in amounts.items()})
