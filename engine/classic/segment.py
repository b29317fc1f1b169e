"""Separating an object from its surroundings with GrabCut (OpenCV), on a reduced copy.

The classic engine has no semantic segmentation model, so "the object" means what GrabCut
separates from a rectangle's surroundings: the rectangle is assumed to contain the object and
its outside to be background. It works well for a product on a plain or blurred backdrop and
poorly for busy scenes; callers say so in their warnings.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.classic.regions import Rect

#: GrabCut runs on a copy whose longest side is at most this; the mask is scaled back up.
SEGMENT_SIDE = 320
ITERATIONS = 4


def grabcut(pixels: np.ndarray, rect: Rect) -> np.ndarray:
    """A float mask (0..1, ``pixels``' shape) of the object inside ``rect``; zeros if none was found."""
    height, width = pixels.shape[:2]
    scale = min(1.0, SEGMENT_SIDE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    sx, sy = size[0] / width, size[1] / height
    x0, y0 = int(rect.x0 * sx), int(rect.y0 * sy)
    x1, y1 = max(x0 + 2, int(rect.x1 * sx)), max(y0 + 2, int(rect.y1 * sy))
    x0, y0 = max(1, x0), max(1, y0)  # GrabCut needs some background outside the rectangle
    x1, y1 = min(size[0] - 1, x1), min(size[1] - 1, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((height, width), np.float32)
    mask = np.zeros(small.shape[:2], np.uint8)
    background = np.zeros((1, 65), np.float64)
    foreground = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(
            cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
            mask,
            (x0, y0, x1 - x0, y1 - y0),
            background,
            foreground,
            ITERATIONS,
            cv2.GC_INIT_WITH_RECT,
        )
    except cv2.error:
        return np.zeros((height, width), np.float32)
    chosen = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    chosen = _main_parts(chosen)
    full = cv2.resize(chosen.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(full, 0.0, 1.0)


def _main_parts(mask: np.ndarray) -> np.ndarray:
    """``mask`` without specks: components smaller than a tenth of the largest are dropped."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    keep[1:] = areas >= max(4, areas.max() * 0.1)
    return keep[labels].astype(np.uint8)
