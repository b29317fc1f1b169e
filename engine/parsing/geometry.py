"""Geometry in both languages: flip, rotate, crop and resize.

These rules read the clause before place phrases are taken out, because their own words
("向左旋转", "上下翻转", "crop the top half") look like places.

Rotation follows Pillow: positive degrees turn counter-clockwise. A rotation with no direction
("rotate 90 degrees", "旋转90度") turns clockwise, as photo viewers do.
"""

from __future__ import annotations

import math
import re

from engine.parsing.clause import Clause, IncompleteEdit
from engine.parsing.colors import canonical_color, find_color
from engine.plan import Box, Crop, Flip, Pad, Resize, Rotate

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMBER = r"\d+(?:\.\d+)?|[零一二两三四五六七八九十百千]+"


def to_number(text: str) -> float | None:
    """``text`` as a number: Arabic digits or Chinese numerals up to the thousands ("一百八十")."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    total, digit = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            total += (digit or 1) * _CN_UNITS[ch]
            digit = 0
    return float(total + digit)


# -- flip ------------------------------------------------------------------------------------

_FLIP_VERTICAL = re.compile(
    r"(?i)垂直(?:翻转|镜像)|上下(?:翻转|镜像|颠倒|翻)|flip\b.*\b(?:vertical(?:ly)?|upside[\s-]+down|top\s+to\s+bottom)"
    r"|vertical(?:ly)?\s+flip|mirror\b.*\bvertical(?:ly)?"
)
_FLIP_HORIZONTAL = re.compile(
    r"(?i)水平(?:翻转|镜像)|左右(?:翻转|镜像|颠倒|翻)|镜像|翻转"
    r"|\bflip(?:ped)?\b|\bmirror(?:ed)?\b|horizontal(?:ly)?\s+flip"
)


def parse_flip(clause: Clause) -> list[Flip] | None:
    text = clause.masked
    if _FLIP_VERTICAL.search(text):
        return [Flip(axis="vertical", source=clause.source)]
    if _FLIP_HORIZONTAL.search(text) and not re.search(r"旋转|rotate", text, re.IGNORECASE):
        return [Flip(axis="horizontal", source=clause.source)]
    return None


# -- rotate ----------------------------------------------------------------------------------

_ROTATE_VERB = re.compile(r"(?i)旋转|转动|转|\brotate[sd]?\b|\bturn\b|\bspin\b|倒过来|upside[\s-]+down")
_DEGREES = re.compile(
    rf"(?i)({_NUMBER})\s*(?:度|°|degrees?\b|deg\b)"
    rf"|(?:\brotate|\bturn|旋转|转)\s*(?:(?:it|this|the\s+(?:image|photo|picture)|by)\s+)*(\d+)(?![\d.]*\s*(?:%|x|倍|px))"
)
_TURN_TO = (
    r"\b(?:rotate|turn|spin)\s+(?:it\s+|this\s+|the\s+(?:image|photo|picture)\s+)?"
    r"(?:\d+\s*(?:degrees?\s*)?)?(?:to\s+the\s+)?"
)
_CLOCKWISE = re.compile(
    rf"(?i)顺时针|向右|往右|右转|(?<!counter)(?<!counter-)(?<!anti)(?<!anti-)\bclockwise\b|\bcw\b|{_TURN_TO}right\b"
)
_COUNTER = re.compile(
    rf"(?i)逆时针|向左|往左|左转|\b(?:counter|anti)[\s-]*clockwise\b|\bccw\b|{_TURN_TO}left\b"
)


def parse_rotate(clause: Clause) -> list[Rotate] | None:
    text = clause.masked
    if not _ROTATE_VERB.search(text):
        return None
    degrees_match = _DEGREES.search(text)
    counter = bool(_COUNTER.search(text))
    clockwise = bool(_CLOCKWISE.search(text)) and not counter
    upside_down = bool(re.search(r"(?i)倒过来|upside[\s-]+down|颠倒", text))
    if degrees_match is None and not (counter or clockwise or upside_down):
        return None
    if degrees_match is not None:
        degrees = to_number(degrees_match.group(1) or degrees_match.group(2)) or 0.0
    else:
        degrees = 180.0 if upside_down else 90.0
    degrees %= 360
    if degrees == 0:
        raise IncompleteEdit(
            "A rotation by a whole turn changes nothing; say how far to rotate.",
            "旋转整圈不会有变化，请说明旋转多少度。",
            ["rotate 90 degrees clockwise", "rotate 180 degrees"],
            ["顺时针旋转90度", "旋转180度"],
        )
    if not counter:
        degrees = -degrees  # clockwise, explicit or by default: negative in Pillow's convention
    # The same turn the short way round: 270 clockwise is 90 counter-clockwise; 180 stays 180.
    degrees = ((degrees + 180) % 360) - 180
    degrees = 180.0 if degrees == -180 else degrees
    return [Rotate(degrees=degrees, source=clause.source)]


# -- crop ------------------------------------------------------------------------------------

_CROP_VERB = re.compile(r"(?i)裁剪|裁切|剪裁|裁成|裁掉|剪掉|裁|截取|\bcrop(?:ped)?\b|\bcut\s+off\b|\btrim\b")
_ASPECT = re.compile(r"(\d+)\s*(?::|：|比|x|×|\*|/)\s*(\d+)", re.IGNORECASE)
_SQUARE = re.compile(r"(?i)正方形|方形|方图|\bsquare\b")
_HALVES = {
    "top": (
        re.compile(r"(?i)上半(?:部分|部|边|张)?|\btop\s+half\b|\bupper\s+half\b"),
        Box(x0=0, y0=0, x1=1, y1=0.5),
    ),
    "bottom": (
        re.compile(r"(?i)下半(?:部分|部|边|张)?|\bbottom\s+half\b|\blower\s+half\b"),
        Box(x0=0, y0=0.5, x1=1, y1=1),
    ),
    "left": (re.compile(r"(?i)左半(?:部分|部|边|张)?|\bleft\s+half\b"), Box(x0=0, y0=0, x1=0.5, y1=1)),
    "right": (re.compile(r"(?i)右半(?:部分|部|边|张)?|\bright\s+half\b"), Box(x0=0.5, y0=0, x1=1, y1=1)),
}
_OPPOSITE = {"top": "bottom", "bottom": "top", "left": "right", "right": "left"}
_CUT_AWAY = re.compile(r"(?i)裁掉|剪掉|去掉|\bcut\s+off\b|\bcrop\s+out\b|\bremove\b")
_CENTER = re.compile(r"(?i)中间|中心|中央|\bcent(?:er|re)\b|\bmiddle\b")


_KEEP = re.compile(r"(?i)只保留|保留|只要|只留|\bkeep\b|\bonly\b")


def parse_crop(clause: Clause) -> list[Crop] | None:
    text = clause.masked
    keeps_half = bool(_KEEP.search(text)) and any(pattern.search(text) for pattern, _ in _HALVES.values())
    if not (_CROP_VERB.search(text) or keeps_half):
        return None
    if _SQUARE.search(text):
        return [Crop(aspect="1:1", source=clause.source)]
    aspect = _ASPECT.search(text)
    if aspect:
        width, height = int(aspect.group(1)), int(aspect.group(2))
        if width and height:
            divisor = math.gcd(width, height)
            return [Crop(aspect=f"{width // divisor}:{height // divisor}", source=clause.source)]
    for side, (pattern, _box) in _HALVES.items():
        if pattern.search(text):
            keep = _OPPOSITE[side] if _CUT_AWAY.search(text) else side
            return [Crop(box=_HALVES[keep][1], source=clause.source)]
    if _CENTER.search(text):
        return [Crop(box=Box(x0=0.25, y0=0.25, x1=0.75, y1=0.75), source=clause.source)]
    raise IncompleteEdit(
        "Say how to crop: to an aspect ratio, to square, or to a half of the image.",
        "请说明怎么裁剪：比例、正方形，或者保留哪一半。",
        ["crop to square", "crop to 16:9", "crop to the top half"],
        ["裁剪成正方形", "裁剪成16:9", "只保留上半部分"],
    )


# -- pad -------------------------------------------------------------------------------------

_PAD_VERB = re.compile(
    r"(?i)补白|补边|补齐|加白边|加边|留白|填充成|扩充成|扩展成|扩成|补成"
    r"|\bpad(?:ded|ding)?\b|\bletterbox(?:ed|ing)?\b|\bpillarbox(?:ed|ing)?\b"
)


def parse_pad(clause: Clause) -> list[Pad] | None:
    """Letterboxing to an aspect: "补白成正方形", "pad to 1:1", "letterbox to 16:9 with black"."""
    text = clause.masked
    verb = _PAD_VERB.search(text)
    if verb is None:
        return None
    if _SQUARE.search(text):
        aspect = "1:1"
    else:
        found = _ASPECT.search(text)
        if found is None or not int(found.group(1)) or not int(found.group(2)):
            raise IncompleteEdit(
                "Say the aspect to pad to, e.g. 'pad to 1:1' or 'pad to 16:9'.",
                "请说明补成什么比例，例如“补白成正方形”或“补边成16:9”。",
                ["pad to 1:1", "pad to 16:9 with white"],
                ["补白成正方形", "补边成16:9"],
            )
        width, height = int(found.group(1)), int(found.group(2))
        divisor = math.gcd(width, height)
        aspect = f"{width // divisor}:{height // divisor}"
    color_match = find_color(text)
    color = canonical_color(color_match.group(0)) if color_match else None
    if color is None and "白" in verb.group(0):
        color = "white"
    return [Pad(aspect=aspect, color=color, source=clause.source)]


# -- resize ----------------------------------------------------------------------------------

_RESIZE_VERB = re.compile(
    r"(?i)缩放|缩小|放大|调整(?:大小|尺寸|分辨率)|尺寸|分辨率|大小|宽度|高度"
    r"|(?:调整|改|变|做|缩|放)(?:成|为|到)(?=\s*\d{2,5}\s*(?:x|×|\*|乘)\s*\d)"
    r"|\bresize[ds]?\b|\bscale[ds]?\b|\brescale\b|\bshrink\b|\benlarge\b|\bupscale\b|\bdownscale\b"
    r"|\bhalf\s+(?:the\s+)?size\b|\bdouble\s+(?:the\s+)?size\b|\bwidth\b|\bheight\b"
    r"|\bmake\s+(?:it|this|the\s+(?:image|photo|picture))\s+(?:smaller|bigger|larger)\b|\bstretch\w*|拉伸"
)
_STRETCH = re.compile(r"(?i)\bstretch\w*|拉伸|不保持比例|不保留比例|不管比例|强制")
_DIMENSIONS = re.compile(r"(\d{2,5})\s*(?:x|×|\*|乘)\s*(\d{2,5})", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]|百分之\s*(" + _NUMBER + ")")
_TIMES = re.compile(rf"(?i)({_NUMBER})\s*(?:倍|x\b|times\b)")
_HALF = re.compile(r"(?i)一半|二分之一|\bhalf\b")
_DOUBLE = re.compile(r"(?i)\bdouble\b|\btwice\b")
_WIDTH = re.compile(
    r"(?i)(?:宽度?|width)\s*(?:为|是|改为|设为|to|of|=|:)?\s*(\d{2,5})|(\d{2,5})\s*(?:px\s*)?(?:wide|宽)"
)
_HEIGHT = re.compile(
    r"(?i)(?:高度?|height)\s*(?:为|是|改为|设为|to|of|=|:)?\s*(\d{2,5})|(\d{2,5})\s*(?:px\s*)?(?:tall|high|高)"
)
_SHRINK = re.compile(r"(?i)缩小|\bshrink\b|\bdownscale\b|\bsmaller\b")


def parse_resize(clause: Clause) -> list[Resize] | None:
    text = clause.masked
    if not _RESIZE_VERB.search(text):
        return None
    source = clause.source
    dims = _DIMENSIONS.search(text)
    if dims:
        stretch = bool(_STRETCH.search(text))
        return [Resize(width=int(dims.group(1)), height=int(dims.group(2)), stretch=stretch, source=source)]
    percent = _PERCENT.search(text)
    if percent:
        value = to_number(percent.group(1) or percent.group(2))
        if value:
            return [Resize(scale=value / 100, source=source)]
    if _HALF.search(text):
        return [Resize(scale=0.5, source=source)]
    times = _TIMES.search(text)
    if times:
        factor = to_number(times.group(1))
        if factor:
            # "缩小2倍" means to a half in everyday Chinese; "放大2倍" doubles.
            return [Resize(scale=1 / factor if _SHRINK.search(text) else factor, source=source)]
    if _DOUBLE.search(text):
        return [Resize(scale=2.0, source=source)]
    width, height = _WIDTH.search(text), _HEIGHT.search(text)
    if width or height:
        return [
            Resize(
                width=int(width.group(1) or width.group(2)) if width else None,
                height=int(height.group(1) or height.group(2)) if height else None,
                source=source,
            )
        ]
    single = re.search(r"(?i)(?:to|到|成|为)\s*(\d{2,5})\s*(?:px|像素)?", text)
    if single:
        return [Resize(width=int(single.group(1)), source=source)]
    raise IncompleteEdit(
        "Say the new size: pixels (800x600), a percentage (50%) or a factor (half, 2x).",
        "请说明新的尺寸：像素（800x600）、百分比（50%）或倍数（一半、两倍）。",
        ["resize to 800x600", "scale to 50%", "make it half the size"],
        ["调整为800x600", "缩放到50%", "缩小一半"],
    )
