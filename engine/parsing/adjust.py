"""Global tone adjustments in both languages: "make it brighter", "调暗一点", "more contrast".

Each phrase maps to one field of ``Adjust`` and a direction; degree words ("a little", "一点",
"much", "很多") scale the strength.
"""

from __future__ import annotations

import re

from engine.plan import Adjust

# (pattern, field, sign); patterns are matched case-insensitively against the whole clause.
_ADJUST_PATTERNS: list[tuple[str, str, float]] = [
    (
        r"bright(er|en)|lighter|lighten|more light|(increase|raise|boost|more) (the )?(brightness|exposure)"
        r"|brightness (up|higher)|too dark|提亮|调亮|变亮|亮一[点些]|更亮"
        r"|亮度也?(提高|增加|调高|加大|高一|加)"
        r"|(提高|增加|加大)(亮度|曝光)"
        r"|加亮|曝光(提高|增加)|太暗",
        "brightness",
        1.0,
    ),
    (
        r"dark(er|en)|dimmer|(decrease|reduce|lower|less) (the )?(brightness|exposure)|too bright"
        r"|调暗|变暗|暗一[点些]|更暗|压暗|亮度(降低|减少|调低|低一)|(降低|减少)(亮度|曝光)|太亮",
        "brightness",
        -1.0,
    ),
    (
        r"more contrast|(increase|boost|add|raise) (the )?contrast|higher contrast|punchier"
        r"|contrast (up|higher|stronger)|对比度?也?(提高|增强|加强|大一|高一|强一|加)"
        r"|(增加|提高|加大|增强|加强|加)对比",
        "contrast",
        1.0,
    ),
    (
        r"less contrast|(lower|reduce|decrease) (the )?contrast|flatter"
        r"|contrast (down|lower|weaker)|对比度?也?(降低|减弱|小一|低一|减)|(降低|减少|减弱)对比",
        "contrast",
        -1.0,
    ),
    (
        r"more saturat|(increase|boost|raise) (the )?saturation|more vivid|more colou?rful"
        r"|(?<!de)saturate|vibrant|(boost|enhance|intensify) (the )?colou?rs|richer colou?rs"
        r"|饱和度?(提高|增加|高一)|(提高|增加|加大)饱和|更鲜艳|鲜艳一[点些]"
        r"|色彩更(浓|鲜艳)|颜色更(浓|鲜艳)",
        "saturation",
        1.0,
    ),
    (
        r"less saturat|desaturate|(lower|reduce|decrease) (the )?saturation|muted|less vivid|less colou?rful"
        r"|饱和度?(降低|减少|低一)|(降低|减少)饱和|淡一[点些]|色彩淡一",
        "saturation",
        -1.0,
    ),
    (
        r"warmer|warm (it )?up|more warm|warm tones?|暖一[点些]|更暖|暖色调?|偏暖|温暖一[点些]|更温暖",
        "warmth",
        1.0,
    ),
    (r"cooler|colder|cool (it )?down|cool tones?|冷一[点些]|更冷|冷色调?|偏冷|清冷", "warmth", -1.0),
    (
        r"sharpen|sharper|crisper|more detail|锐化|更清晰|清晰一[点些]|更锐利"
        r"|(提高|增加)清晰度|清晰度(提高|增加)",
        "sharpness",
        1.0,
    ),
    (r"soften|softer|blurrier|blurry|柔和一[点些]|更柔和|柔化|模糊一[点些]", "sharpness", -1.0),
]
_WEAK = re.compile(r"a (little|bit)|slightly|a touch|一点|一些|稍微|略|微微|有点|稍稍")
_STRONG = re.compile(r"\bmuch\b|a lot|\bvery\b|\bway\b|significantly|很多|非常|大幅|特别|更加|很|多一些|大大")
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
    adjust = Adjust(source=clause.strip())
    return adjust.model_copy(update={field: sign * strength for field, sign in amounts.items()})
