"""Filling erased pixels from their surroundings, without ghosts.

Text on a flat panel (most banners) is best erased by filling with the panel's colour: exact,
no smudge. On texture (wood grain, fabric, a photo) the hole is filled with real patches of
its surroundings (``exemplar.py``), which continues the grain instead of smearing it; smooth
surroundings (a gradient, a soft shadow) are inpainted with Telea, which suits them. Each fill
is checked against the ring around it (variance and gradients, ``fill_quality``); when the first
method's fill looks like a ghost the other is tried and the better kept. Only a crop around the
mask is processed, so removal stays fast at 2048².
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.classic.context import OpContext
from engine.classic.exemplar import (
    PATCH,
    FillQuality,
    context_pad,
    exemplar_fill,
    fill_quality,
    gradient_energy,
)

#: A surrounding ring whose channels vary less than this (std, 0..255) counts as a flat background.
FLAT_STD = 5.0
#: Holes in crops larger than this (pixels a side) are Telea-inpainted at reduced scale.
MAX_INPAINT_SIDE = 384
INPAINT_RADIUS = 5
#: A fill whose ghost measure (``FillQuality.ghost``) is above this looks unlike its surroundings.
GHOST_LIMIT = 0.35
#: Surroundings with less gradient energy than this (mean |Sobel|, 0..255 scale) are smooth.
SMOOTH_GRADIENT = 6.0


@dataclass(frozen=True)
class Erased:
    """The filled picture, how it was filled, and how the fill compares with its surroundings."""

    image: np.ndarray
    method: str
    quality: FillQuality


def _bounds(mask: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    height, width = mask.shape
    y0, y1 = max(0, int(ys.min()) - pad), min(height, int(ys.max()) + pad + 1)
    x0, x1 = max(0, int(xs.min()) - pad), min(width, int(xs.max()) + pad + 1)
    return slice(y0, y1), slice(x0, x1)


def border_ring(mask: np.ndarray, width: int = 3) -> np.ndarray:
    """The pixels just outside ``mask``: the background the hole must blend into."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * width + 1, 2 * width + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool) & ~mask


def erase(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of RGB ``image`` with the ``mask`` pixels (bool) filled from their surroundings.

    Pixels outside ``mask`` are returned unchanged, bit for bit.
    """
    return erase_checked(image, mask).image


def erase_checked(image: np.ndarray, mask: np.ndarray) -> Erased:
    """``erase``, with the method used and the fill's quality for the report."""
    out = image.copy()
    bounds = _bounds(mask, pad=context_pad(int(np.count_nonzero(mask))))
    unchanged = FillQuality(1.0, 1.0)
    if bounds is None:
        return Erased(out, "none", unchanged)
    crop, hole = image[bounds], mask[bounds]
    ring = border_ring(hole)
    if not ring.any():  # the mask covers the whole image: nothing to fill from
        return Erased(out, "none", unchanged)
    surround = crop[ring].astype(np.float32)
    if float(surround.std(axis=0).max()) < FLAT_STD:
        out[bounds][hole] = np.median(surround, axis=0).round().astype(np.uint8)
        return Erased(out, "flat colour", unchanged)
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    smooth = float(gradient_energy(gray)[border_ring(hole, width=PATCH)].mean()) < SMOOTH_GRADIENT
    methods = [("exemplar patches", exemplar_fill), ("diffusion (Telea)", _telea)]
    if smooth:
        methods.reverse()
    best: Erased | None = None
    for name, method in methods:
        filled = method(crop, hole)
        quality = fill_quality(crop, filled, hole)
        if best is None or quality.ghost < best.quality.ghost:
            best = Erased(filled, name, quality)
        if quality.ghost <= GHOST_LIMIT:
            break
    assert best is not None
    out[bounds][hole] = best.image[hole]
    return Erased(out, best.method, best.quality)


def note_fill(ctx: OpContext, erased: Erased) -> None:
    """Put how a hole was filled, and its ghost measure, in the report; warn the user when the
    fill still looks unlike its surroundings."""
    if erased.method == "none":
        return
    methods = ctx.parameters.setdefault("fill", [])
    if erased.method not in methods:
        methods.append(erased.method)
    ctx.parameters["ghost"] = round(max(float(ctx.parameters.get("ghost", 0.0)), erased.quality.ghost), 3)
    if erased.quality.ghost > GHOST_LIMIT:
        ctx.warn(
            ctx.say(
                "The filled area may look different from its surroundings (its texture could not be "
                "matched well); check it.",
                "填补的区域可能和周围不太一样（纹理没能很好地匹配），请检查。",
            )
        )


def _telea(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Telea inpainting of ``hole`` in ``crop``, at a reduced scale for large crops."""
    height, width = hole.shape
    scale = min(1.0, MAX_INPAINT_SIDE / max(height, width))
    hole8 = hole.astype(np.uint8) * 255
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole8, size, interpolation=cv2.INTER_NEAREST)
        small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
        filled_small = cv2.inpaint(small, small_hole, INPAINT_RADIUS, cv2.INPAINT_TELEA)
        return cv2.resize(filled_small, (width, height), interpolation=cv2.INTER_CUBIC)
    return cv2.inpaint(crop, hole8, INPAINT_RADIUS, cv2.INPAINT_TELEA)
