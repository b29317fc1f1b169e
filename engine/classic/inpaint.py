"""Filling erased pixels from their surroundings.

Text on a flat panel (most banners) is best erased by filling with the panel's colour: exact,
no smudge. Elsewhere we use OpenCV's Telea inpainting, which propagates the surrounding
colours inwards. Only a crop around the mask is processed, and large holes are inpainted at a
reduced scale and upsampled, which keeps removal of big objects fast at 2048². Inpainting is
smooth, not textured: it suits text and small objects, not replacing half the picture.
"""

from __future__ import annotations

import cv2
import numpy as np

#: A surrounding ring whose channels vary less than this (std, 0..255) counts as a flat background.
FLAT_STD = 5.0
#: Holes in crops larger than this (pixels a side) are inpainted at reduced scale.
MAX_INPAINT_SIDE = 384
INPAINT_RADIUS = 5


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
    out = image.copy()
    bounds = _bounds(mask, pad=2 * INPAINT_RADIUS + 4)
    if bounds is None:
        return out
    crop, hole = image[bounds], mask[bounds]
    ring = border_ring(hole)
    if not ring.any():  # the mask covers the whole image: nothing to fill from
        return out
    surround = crop[ring].astype(np.float32)
    if float(surround.std(axis=0).max()) < FLAT_STD:
        out[bounds][hole] = np.median(surround, axis=0).round().astype(np.uint8)
        return out

    height, width = hole.shape
    scale = min(1.0, MAX_INPAINT_SIDE / max(height, width))
    hole8 = hole.astype(np.uint8) * 255
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole8, size, interpolation=cv2.INTER_NEAREST)
        small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
        filled_small = cv2.inpaint(small, small_hole, INPAINT_RADIUS, cv2.INPAINT_TELEA)
        filled = cv2.resize(filled_small, (width, height), interpolation=cv2.INTER_CUBIC)
    else:
        filled = cv2.inpaint(crop, hole8, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    out[bounds][hole] = filled[hole]
    return out
