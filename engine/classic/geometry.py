"""Crop, resize, rotate and flip: exact geometry with Pillow.

Right-angle rotations and flips are lossless transposes; other angles expand the canvas so no
corner is cut off, filling the new corners with white (the usual e-commerce backdrop).
"""

from __future__ import annotations

import re

from PIL import Image

from engine.classic.context import OpContext
from engine.classic.regions import op_rect
from engine.plan import Crop, Flip, Resize, Rotate
from imgedit.errors import BadInputError

#: The largest side a resize may produce, so a typo cannot ask for a gigapixel image.
MAX_SIDE = 10_000
_ASPECT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:：/x×]\s*(\d+(?:\.\d+)?)\s*$")


def parse_aspect(text: str) -> float:
    """Width / height of an aspect such as '16:9', '1:1', '4/3'."""
    match = _ASPECT.match(text)
    if not match or float(match.group(2)) == 0 or float(match.group(1)) == 0:
        raise BadInputError(f"'{text}' is not an aspect ratio.", hint="Write it as width:height, e.g. 16:9.")
    return float(match.group(1)) / float(match.group(2))


def crop(image: Image.Image, op: Crop, ctx: OpContext) -> Image.Image:
    width, height = image.size
    region = op_rect(op.box, op.place, width, height)
    if op.aspect:
        ratio = parse_aspect(op.aspect)
        base = region or (0, 0, width, height)
        bx0, by0, bx1, by1 = base
        bw, bh = bx1 - bx0, by1 - by0
        cw, ch = (bw, round(bw / ratio)) if bw / bh < ratio else (round(bh * ratio), bh)
        cw, ch = max(1, min(cw, bw)), max(1, min(ch, bh))
        left, top = bx0 + (bw - cw) // 2, by0 + (bh - ch) // 2
        return image.crop((left, top, left + cw, top + ch))
    if region is None:
        raise BadInputError(
            "Say how to crop: an aspect ratio ('crop to 1:1') or a part of the image ('crop the top half')."
        )
    return image.crop((region.x0, region.y0, region.x1, region.y1))


def resize(image: Image.Image, op: Resize, ctx: OpContext) -> Image.Image:
    width, height = image.size
    if op.scale is not None:
        if op.scale <= 0:
            raise BadInputError("A resize scale must be positive, e.g. 0.5 or 2.")
        size = (round(width * op.scale), round(height * op.scale))
    elif op.width and op.height:
        size = (op.width, op.height)
    elif op.width:
        size = (op.width, round(height * op.width / width))
    elif op.height:
        size = (round(width * op.height / height), op.height)
    else:
        raise BadInputError(
            "Say the new size: a width, a height or a scale ('resize to 800 wide', '缩小一半')."
        )
    if min(size) < 1 or max(size) > MAX_SIDE:
        raise BadInputError(f"A resize to {size[0]}x{size[1]} is outside 1..{MAX_SIDE} pixels a side.")
    return image.resize(size, Image.Resampling.LANCZOS)


def rotate(image: Image.Image, op: Rotate, ctx: OpContext) -> Image.Image:
    """Rotate counter-clockwise by ``op.degrees`` (negative turns clockwise)."""
    turns = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    degrees = op.degrees % 360
    if degrees == 0:
        return image.copy()
    if degrees in turns:
        return image.transpose(turns[int(degrees)])
    return image.rotate(op.degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def flip(image: Image.Image, op: Flip, ctx: OpContext) -> Image.Image:
    axis = Image.Transpose.FLIP_LEFT_RIGHT if op.axis == "horizontal" else Image.Transpose.FLIP_TOP_BOTTOM
    return image.transpose(axis)
