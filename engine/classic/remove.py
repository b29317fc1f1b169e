"""Removing things by colour or by place, filling the hole by inpainting.

"Remove the red sticker" masks the red pixels (within the named place, if any); an operation
with a ``box`` (a known object's box, e.g. a badge the agent added) fills exactly that box, since
the caller knows where the thing is; "remove the thing in the bottom left" separates the object
in that place from its surroundings with GrabCut. The classic engine cannot find objects by name
alone ("remove the cup"), so such a request is refused with a message saying how to phrase it,
or to use the qwen engine.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from engine.classic.colors import color_weight, rgb_of, to_hls
from engine.classic.context import OpContext, pixels_of
from engine.classic.inpaint import erase
from engine.classic.regions import Rect, op_rect
from engine.classic.segment import grabcut
from engine.plan import Remove
from imgedit.errors import BadInputError, UnsupportedOperationError

#: Colour blobs smaller than this share of the image are noise, not things to remove.
MIN_BLOB_SHARE = 0.0002


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def color_mask(pixels: np.ndarray, color: str, region: Rect) -> np.ndarray:
    """Pixels of ``color`` inside ``region`` that form blobs of a meaningful size."""
    height, width = pixels.shape[:2]
    crop = pixels[region.y0 : region.y1, region.x0 : region.x1]
    weight = color_weight(to_hls(crop), rgb_of(color))
    local = (weight > 0.3).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(local, connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= max(4, MIN_BLOB_SHARE * height * width)
    mask = np.zeros((height, width), bool)
    mask[region.y0 : region.y1, region.x0 : region.x1] = keep[labels]
    return mask


def remove(image: Image.Image, op: Remove, ctx: OpContext) -> Image.Image:
    pixels = pixels_of(image)
    height, width = pixels.shape[:2]
    region = op_rect(op.box, op.place, width, height)
    margin = max(2, round(min(height, width) * 0.006))
    with ctx.timed("mask"):
        if op.color:
            mask = color_mask(pixels, op.color, region or Rect(0, 0, width, height))
            where = " in that part of the image" if region else ""
            if not mask.any():
                raise BadInputError(f"Nothing {op.color} was found to remove{where}.")
        elif op.box is not None and region is not None:
            mask = np.zeros((height, width), bool)
            mask[region.y0 : region.y1, region.x0 : region.x1] = True
        elif region is not None:
            mask = grabcut(pixels, region) > 0.5
            if not mask.any():
                raise BadInputError(
                    "No distinct object was found in that part of the image to remove.",
                    hint="Name its colour as well ('remove the red logo in the top left').",
                )
            ctx.warn("The object was separated from its surroundings by GrabCut; check the edges.")
        else:
            what = f"'{op.target}'" if op.target else "the thing to remove"
            raise UnsupportedOperationError(
                f"The classic engine cannot locate {what} by name (remove).",
                hint="Name its colour or place ('remove the red stamp', '去掉右下角的标志'), "
                "or use the qwen engine, which understands objects.",
            )
        if op.color or op.box is None:
            mask = _grow(mask, margin)
    with ctx.timed("inpaint"):
        out = erase(pixels, mask)
    return Image.fromarray(out)
