"""Crop, pad, resize, rotate and flip: exact geometry with Pillow, careful with what matters.

A crop to an aspect keeps what a shopper looks at whole: the window slides (it never shrinks)
so every text line OCR reads and the product (``framing.py``) stay inside; when they cannot all
fit, the crop keeps the most and the report warns what was cut. A pad grows the canvas with
the backdrop's colour (or transparency on a cut-out) so nothing is cut at all. A resize to a
width and a height keeps the aspect (the picture fits inside) unless "stretch" was said, and
says so. Right-angle rotations and flips are lossless transposes; other angles expand the
canvas so no corner is cut off, filling the new corners with white (the usual backdrop).
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from engine.classic.colors import rgb_of
from engine.classic.context import OpContext, pixels_of
from engine.classic.framing import best_window, keep_boxes
from engine.classic.regions import op_rect
from engine.classic.separation import border_pixels
from engine.plan import Crop, Flip, Pad, Resize, Rotate
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
        if (cw, ch) == (bw, bh):
            return image.crop((bx0, by0, bx1, by1))
        with ctx.timed("framing"):
            boxes = keep_boxes(pixels_of(image), ctx)
            window, cut = best_window((bx0, by0, bx1, by1), (cw, ch), boxes)
        for kept in cut:
            ctx.warn(
                ctx.say(
                    f"The crop to {op.aspect} had to cut {kept.label_en}: it does not fit in a "
                    f"{op.aspect} frame. Pad instead ('pad to {op.aspect}') to keep everything.",
                    f"裁剪成{op.aspect}时不得不切掉{kept.label_zh}：它放不进{op.aspect}的画面。"
                    f"如需完整保留，可以改为补边（“补白成{op.aspect}”）。",
                )
            )
        ctx.parameters["crop_window"] = list(window)
        return image.crop(window)
    if region is None:
        raise BadInputError(
            ctx.say(
                "Say how to crop: an aspect ratio ('crop to 1:1') or a part of the image "
                "('crop the top half').",
                "请说明怎么裁剪：比例（“裁剪成1:1”）或保留哪一部分（“只保留上半部分”）。",
            )
        )
    return image.crop((region.x0, region.y0, region.x1, region.y1))


def pad(image: Image.Image, op: Pad, ctx: OpContext) -> Image.Image:
    """Grow the canvas to ``op.aspect`` around the centred picture: with ``op.color``, with
    transparency on a cut-out, or else with the backdrop's colour (the median of the border)."""
    width, height = image.size
    ratio = parse_aspect(op.aspect)
    new_w, new_h = (
        (width, round(width / ratio)) if width / height > ratio else (round(height * ratio), height)
    )
    new_w, new_h = max(width, new_w), max(height, new_h)
    if (new_w, new_h) == (width, height):
        return image
    if op.color:
        fill: tuple[int, ...] = rgb_of(op.color, "padding colour")
        if image.mode == "RGBA":
            fill = (*fill, 255)
    elif image.mode == "RGBA":
        fill = (255, 255, 255, 0)
    else:
        frame = max(1, min(width, height) // 100)
        median = np.median(border_pixels(pixels_of(image), frame), axis=0)
        fill = tuple(int(v) for v in median)
    canvas = Image.new(image.mode, (new_w, new_h), fill)
    canvas.paste(image, ((new_w - width) // 2, (new_h - height) // 2))
    return canvas


def resize(image: Image.Image, op: Resize, ctx: OpContext) -> Image.Image:
    width, height = image.size
    if op.scale is not None:
        if op.scale <= 0:
            raise BadInputError(
                ctx.say(
                    "A resize scale must be positive, e.g. 0.5 or 2.", "缩放比例必须是正数，例如 0.5 或 2。"
                )
            )
        size = (round(width * op.scale), round(height * op.scale))
    elif op.width and op.height:
        size = (op.width, op.height)
        fit = min(op.width / width, op.height / height)
        fitted = (max(1, round(width * fit)), max(1, round(height * fit)))
        if (
            not op.stretch
            and fitted != size
            and abs(op.width / op.height - width / height) > 0.01 * width / height
        ):
            if not op.implied:
                ctx.warn(
                    ctx.say(
                        f"Kept the picture's proportions: it is {fitted[0]}x{fitted[1]}, not "
                        f"{op.width}x{op.height}. Say 'stretch to {op.width}x{op.height}' to distort it, "
                        f"or pad it first ('pad to {op.width}:{op.height}').",
                        f"保持了原图比例：输出为{fitted[0]}x{fitted[1]}，不是{op.width}x{op.height}。"
                        f"如需强制拉伸请说“拉伸到{op.width}x{op.height}”，或先补边（“补白成{op.width}:{op.height}”）。",
                    )
                )
            size = fitted
    elif op.width:
        size = (op.width, round(height * op.width / width))
    elif op.height:
        size = (round(width * op.height / height), op.height)
    else:
        raise BadInputError(
            ctx.say(
                "Say the new size: a width, a height or a scale ('resize to 800 wide', '缩小一半').",
                "请说明新的尺寸：宽度、高度或比例（“宽度调整为800”、“缩小一半”）。",
            )
        )
    if min(size) < 1 or max(size) > MAX_SIDE:
        raise BadInputError(
            ctx.say(
                f"A resize to {size[0]}x{size[1]} is outside 1..{MAX_SIDE} pixels a side.",
                f"调整到{size[0]}x{size[1]}超出了每边 1 到 {MAX_SIDE} 像素的范围。",
            )
        )
    if size == (width, height):
        return image
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
