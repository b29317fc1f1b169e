"""Texture-aware hole filling: copy real patches of the surroundings in, from the edge inwards.

Diffusion inpainting (Telea) smooths a hole into a pale smear on wood grain, fabric or a
gradient: the ghost users see where a watermark was. This is an exemplar (patch-based) fill in
the spirit of Criminisi et al.: the hole is filled patch by patch starting where most of the
patch is known; each patch is the best match (squared difference over its known pixels, by
``cv2.matchTemplate`` with a mask) among fully known patches nearby, so the texture's grain and
contrast continue into the hole. ``fill_quality`` then compares the filled area with the ring
around it (local variance and gradient energy), so a caller can tell a fill that kept the
texture from one that smeared it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Patch side (pixels) at which texture is copied; the search looks this many patches around.
PATCH = 13
SEARCH_PATCHES = 2
#: Holes larger than this many pixels are matched on a reduced copy (see ``exemplar_fill``).
MATCH_AREA = 6000


@dataclass(frozen=True)
class FillQuality:
    """The filled area against its untouched surroundings: ratios near 1 mean the texture goes on;
    a smear has far less variance and gradient than its surroundings."""

    variance_ratio: float
    gradient_ratio: float

    @property
    def ghost(self) -> float:
        """0 for a fill like its surroundings, towards 1 for a flat smear (or a busy blotch)."""
        parts = [self.variance_ratio, self.gradient_ratio]
        return float(max(abs(np.log(max(p, 1e-3))) for p in parts) / np.log(10.0))


def gradient_energy(gray: np.ndarray) -> np.ndarray:
    """|d/dx| + |d/dy| (Sobel) of a float grey image: how much texture each pixel carries."""
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return np.abs(gx) + np.abs(gy)


def fill_quality(before: np.ndarray, after: np.ndarray, hole: np.ndarray) -> FillQuality:
    """How the filled ``hole`` of ``after`` compares with the ring of ``before`` around it."""
    size = max(3, 2 * PATCH + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    hole8 = hole.astype(np.uint8)
    ring = cv2.dilate(hole8, kernel).astype(bool) & ~hole
    inner = cv2.erode(hole8, np.ones((3, 3), np.uint8)).astype(bool)  # not the seam itself
    if not ring.any() or not inner.any():
        return FillQuality(1.0, 1.0)
    gray_before = cv2.cvtColor(before, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray_after = cv2.cvtColor(after, cv2.COLOR_RGB2GRAY).astype(np.float32)
    variance = (float(gray_after[inner].std()) + 1.0) / (float(gray_before[ring].std()) + 1.0)
    gradient = (float(gradient_energy(gray_after)[inner].mean()) + 1.0) / (
        float(gradient_energy(gray_before)[ring].mean()) + 1.0
    )
    return FillQuality(round(variance, 3), round(gradient, 3))


def match_scale(area: int) -> int:
    """How much a hole of ``area`` pixels is reduced for matching (1: not at all)."""
    return max(1, int(np.ceil(np.sqrt(area / MATCH_AREA))))


def context_pad(area: int) -> int:
    """How much of the surroundings (pixels) a crop around a hole of ``area`` pixels needs, so
    that its reduced copy still has whole patches to copy from."""
    return (3 * PATCH + 4) * match_scale(area)


def exemplar_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` (RGB uint8, a crop around the hole) with ``hole`` filled from its own patches.

    Large holes are matched on a reduced copy (at most ``MATCH_AREA`` hole pixels): which patch
    goes where is decided there, and the full-resolution pixels are copied from the same places
    scaled up, so the fill keeps the full-resolution texture at a fraction of the matching cost.
    """
    factor = match_scale(int(np.count_nonzero(hole)))
    if factor == 1:
        return _fill(image, hole)[0]
    height, width = hole.shape
    size = (max(PATCH + 2, width // factor), max(PATCH + 2, height // factor))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.0
    _, offsets = _fill(small, small_hole)
    scale_y, scale_x = height / size[1], width / size[0]
    ys, xs = np.nonzero(hole)
    low_y = np.minimum((ys / scale_y).astype(np.int32), size[1] - 1)
    low_x = np.minimum((xs / scale_x).astype(np.int32), size[0] - 1)
    out = image.copy()
    pending = np.ones(ys.shape, bool)
    # Each pixel copies from where its reduced-copy pixel came from; when that lands in the hole
    # (the scaled-up hole is a little larger), a neighbour's source is tried, nearest first.
    for ny, nx in sorted(
        ((a, b) for a in range(-2, 3) for b in range(-2, 3)), key=lambda d: abs(d[0]) + abs(d[1])
    ):
        if not pending.any():
            break
        cy = np.clip(low_y[pending] + ny, 0, size[1] - 1)
        cx = np.clip(low_x[pending] + nx, 0, size[0] - 1)
        source_y = np.clip(
            ys[pending] + np.round(offsets[cy, cx, 0] * scale_y).astype(np.int32), 0, height - 1
        )
        source_x = np.clip(
            xs[pending] + np.round(offsets[cy, cx, 1] * scale_x).astype(np.int32), 0, width - 1
        )
        usable = ~hole[source_y, source_x] & (offsets[cy, cx, 2] > 0)
        index = np.flatnonzero(pending)[usable]
        out[ys[index], xs[index]] = image[source_y[usable], source_x[usable]]
        pending[index] = False
    if pending.any():  # what is left (rare): smooth fill of a tight crop around it
        rest = np.zeros_like(hole)
        rest[ys[pending], xs[pending]] = True
        y0, y1 = max(0, int(ys[pending].min()) - 4), min(height, int(ys[pending].max()) + 5)
        x0, x1 = max(0, int(xs[pending].min()) - 4), min(width, int(xs[pending].max()) + 5)
        patch = np.ascontiguousarray(out[y0:y1, x0:x1])
        filled = cv2.inpaint(patch, rest[y0:y1, x0:x1].astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
        out[y0:y1, x0:x1][rest[y0:y1, x0:x1]] = filled[rest[y0:y1, x0:x1]]
    return out


def _fill(image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The patch-by-patch fill of ``hole``; also, per pixel, the offset (dy, dx) it was copied
    from and whether it was (third channel 1), for ``exemplar_fill`` to scale up."""
    out = image.copy()
    known = ~hole
    height, width = hole.shape
    offsets = np.zeros((height, width, 3), np.int32)
    half = PATCH // 2
    reach = SEARCH_PATCHES * PATCH
    # Where a whole patch around a pixel is known: the only valid sources.
    unknown_count = cv2.boxFilter((~known).astype(np.float32), -1, (PATCH, PATCH), normalize=False)
    valid_source = unknown_count < 0.5
    valid_source[:half, :] = valid_source[-half:, :] = False
    valid_source[:, :half] = valid_source[:, -half:] = False
    if not valid_source.any():
        return out, offsets
    for _ in range(max(height, width)):
        # One round: the fill front (unknown pixels next to known ones), patches centred on it,
        # most-known first, no two overlapping; later patches of the round see earlier ones.
        known8 = known.astype(np.uint8)
        front = (~known) & (cv2.dilate(known8, np.ones((3, 3), np.uint8)) > 0)
        if not front.any():
            break
        confidence = cv2.boxFilter(known.astype(np.float32), -1, (PATCH, PATCH))
        ys, xs = np.nonzero(front)
        order = np.argsort(-confidence[ys, xs], kind="stable")
        taken = np.zeros((height, width), bool)
        for index in order:
            cy, cx = int(ys[index]), int(xs[index])
            if taken[cy, cx] or known[cy, cx]:
                continue
            y0, y1 = max(0, cy - half), min(height, cy + half + 1)
            x0, x1 = max(0, cx - half), min(width, cx + half + 1)
            taken[max(0, cy - PATCH + 1) : cy + PATCH, max(0, cx - PATCH + 1) : cx + PATCH] = True
            _fill_patch(out, known, valid_source, offsets, (y0, y1, x0, x1), (cy, cx), reach)
    return out, offsets


def _fill_patch(
    out: np.ndarray,
    known: np.ndarray,
    valid_source: np.ndarray,
    offsets: np.ndarray,
    window: tuple[int, int, int, int],
    centre: tuple[int, int],
    reach: int,
) -> None:
    """Fill the unknown pixels of ``window`` from the best-matching fully known patch nearby."""
    height, width = known.shape
    y0, y1, x0, x1 = window
    cy, cx = centre
    template = out[y0:y1, x0:x1]
    mask = known[y0:y1, x0:x1]
    patch_hole = ~mask
    th, tw = template.shape[:2]
    # Search nearby first (texture varies across a picture); farther only when nothing near is known.
    while True:
        sy0, sy1 = max(0, y0 - reach), min(height, y1 + reach)
        sx0, sx1 = max(0, x0 - reach), min(width, x1 + reach)
        search = out[sy0:sy1, sx0:sx1]
        scores = cv2.matchTemplate(search, template, cv2.TM_SQDIFF, mask=mask.astype(np.uint8))
        if tw == PATCH and th == PATCH:
            # scores[i, j] puts the patch's centre at (sy0 + i + cy - y0, sx0 + j + cx - x0).
            oy, ox = sy0 + (cy - y0), sx0 + (cx - x0)
            source_ok = np.zeros(scores.shape, bool)
            region = valid_source[oy : oy + scores.shape[0], ox : ox + scores.shape[1]]
            source_ok[: region.shape[0], : region.shape[1]] = region
        else:  # a patch clipped by the crop's edge: any fully known source of its size
            unknown_search = (~known[sy0:sy1, sx0:sx1]).astype(np.float32)
            counts = cv2.boxFilter(
                unknown_search, -1, (tw, th), normalize=False, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT
            )
            source_ok = counts[: scores.shape[0], : scores.shape[1]] < 0.5
        scores = np.where(source_ok & np.isfinite(scores), scores, np.inf)
        whole = sy0 == 0 and sx0 == 0 and sy1 == height and sx1 == width
        if np.isfinite(scores).any() or whole:
            break
        reach *= 2
    if np.isfinite(scores).any():
        by, bx = np.unravel_index(int(np.argmin(scores)), scores.shape)
        out[y0:y1, x0:x1][patch_hole] = search[by : by + th, bx : bx + tw][patch_hole]
        offsets[y0:y1, x0:x1][patch_hole] = (sy0 + by - y0, sx0 + bx - x0, 1)
    else:  # no known source at all: the known pixels' median colour
        known_pixels = out[y0:y1, x0:x1][mask] if mask.any() else out[known]
        out[y0:y1, x0:x1][patch_hole] = np.median(known_pixels, axis=0).astype(np.uint8)
    known[y0:y1, x0:x1] = True
