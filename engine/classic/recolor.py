"""Recolouring: give the named pixels a new hue and saturation, keeping their lightness.

Keeping HLS lightness keeps the shading, folds and highlights of a product while its colour
changes. Which pixels: those of the named source colour ("the red ...") within the named place
or box; with a place but no source colour, the dominant colour of that place. The classic
engine cannot find objects by name ("the dress"), so a target without a colour or a place is
refused with a clear message instead of guessed.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.classic.colors import ACHROMATIC, MIN_SATURATION, color_weight, from_hls, hls_of, rgb_of, to_hls
from engine.classic.context import OpContext, pixels_of
from engine.classic.regions import Rect, op_rect
from engine.plan import Place, Recolor
from imgedit.errors import BadInputError, UnsupportedOperationError

#: Share of a region's pixels that must be of one colour for it to be "the colour of that place".
MIN_DOMINANT_SHARE = 0.05


def dominant_color(pixels: np.ndarray) -> tuple[int, int, int] | None:
    """The most common saturated hue among ``pixels`` (RGB), or None if the region is grey."""
    hls = to_hls(pixels)
    saturated = hls[..., 2] > MIN_SATURATION + 0.08
    if saturated.mean() < MIN_DOMINANT_SHARE:
        return None
    hist, edges = np.histogram(hls[..., 0][saturated], bins=36, range=(0.0, 360.0))
    # Circular smoothing so a hue split across two bins is not undercounted.
    smooth = hist + np.roll(hist, 1) + np.roll(hist, -1)
    peak = int(np.argmax(smooth))
    members = pixels[
        saturated & (np.abs(((hls[..., 0] - (edges[peak] + 5.0)) + 180.0) % 360.0 - 180.0) < 15.0)
    ]
    if len(members) == 0:
        return None
    median = np.median(members, axis=0).round().astype(int)
    return (int(median[0]), int(median[1]), int(median[2]))


def recolor(image: Image.Image, op: Recolor, ctx: OpContext) -> Image.Image:
    pixels = pixels_of(image)
    height, width = pixels.shape[:2]
    target_rgb = rgb_of(op.to_color, "target colour")
    region = op_rect(op.box, op.place, width, height) or Rect(0, 0, width, height)
    crop = pixels[region.y0 : region.y1, region.x0 : region.x1]
    named_region = op.box is not None or (
        op.place is not None and op.place not in (Place.BACKGROUND, Place.FOREGROUND)
    )

    if op.from_color:
        source_rgb = rgb_of(op.from_color, "colour")
    elif named_region:
        found = dominant_color(crop)
        if found is None:
            raise BadInputError(
                "That part of the image has no distinct colour to change.",
                hint="Say which colour to change, e.g. 'make the red in the top left blue'.",
            )
        source_rgb = found
    else:
        what = f"'{op.target}'" if op.target else "what to recolour"
        raise UnsupportedOperationError(
            f"The classic engine cannot locate {what} by name (recolor).",
            hint="Name its current colour or its place ('make the red dress blue', "
            "'把左上角的红色改成蓝色'), "
            "or use the qwen engine, which understands objects.",
        )

    with ctx.timed("mask"):
        hls = to_hls(crop)
        weight = color_weight(hls, source_rgb)
    if float(weight.max()) <= 0.0:
        raise BadInputError(
            f"No {op.from_color or 'matching'} pixels were found"
            + (" in that part of the image." if named_region else " in the image."),
            hint="Check the colour name, or name the place where it is.",
        )

    with ctx.timed("recolor"):
        hue, target_l, target_s = hls_of(target_rgb)
        new = hls.copy()
        new[..., 0] = hue
        chosen = weight > 0
        if target_s < ACHROMATIC:
            # To black/white/grey: drop the colour and move the lightness to the target's,
            # keeping the shading as an offset around it.
            new[..., 2] = target_s
            shift = target_l - float(np.median(hls[..., 1][chosen]))
            new[..., 1] = np.clip(hls[..., 1] + shift, 0.0, 1.0)
        else:
            reference = max(0.05, float(np.median(hls[..., 2][chosen])))
            new[..., 2] = np.clip(hls[..., 2] * (target_s / reference), 0.0, 1.0)
        rgb = from_hls(new)
        alpha = weight[..., None]
        blended = (rgb * alpha + crop.astype(np.float32) * (1.0 - alpha)).round().astype(np.uint8)
        out = pixels.copy()
        out_crop = out[region.y0 : region.y1, region.x0 : region.x1]
        out_crop[chosen] = blended[chosen]
    return Image.fromarray(out)
