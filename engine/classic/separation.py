"""Separating a product from a plain backdrop, honestly: by the backdrop's colour, at full
resolution, with a soft edge from alpha matting, and with a measure of how sure we are.

Most product shots stand on a plain or near-plain backdrop. Its colour and its noise are learnt
from the picture's borders (in Lab, where distances match what the eye sees): a pixel belongs
to the product when it is farther from the backdrop colour than the border's own spread. That
decision is made at full resolution, so thin parts (a mug's handle, a bag's strap) survive,
which a GrabCut on a reduced copy loses. Only the uncertain band along the outline is matted
(``pymatting``'s closed-form matting, on a reduced copy of the band's surroundings) and mixed
back where the full-resolution decision is not clear-cut; the band's colours are freed from the
old backdrop's tint (the backdrop is known, so ``F = (I - (1 - a) B) / a``).

Pixels of the backdrop's hue that are only darker (the product's contact shadow) are not the
product: they are returned as a shading factor, so a new backdrop keeps the shadow.

Busy scenes have no backdrop colour to learn: the border's spread, the share of the border that
is backdrop, and the contrast between product and backdrop give a confidence, and callers
refuse below ``MIN_CONFIDENCE`` with the reason, instead of cutting into the subject.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Below this the separation is not trusted: callers refuse (or hand the edit to qwen).
MIN_CONFIDENCE = 0.5
#: The matte is computed on a copy whose longest side is at most this (matting is O(pixels)).
MATTE_SIDE = 320
#: Half-width of the uncertain band along the outline, as a share of the image's shorter side.
BAND_SHARE = 0.006
#: Holes in the product that match the backdrop and are larger than this share of the image
#: are seen-through backdrop (the inside of a handle); smaller ones are part of the product.
HOLE_SHARE = 0.0004
METHOD = "backdrop colour (Lab, full resolution) + closed-form alpha matting on the edge band"


@dataclass
class Separation:
    """A product's alpha (float32, 0..1, full resolution), the backdrop it stood on, the
    shading the backdrop carries (1 = backdrop colour, below 1 = shadow), and how sure we are."""

    alpha: np.ndarray
    foreground: np.ndarray  # uint8 RGB: the picture, with the edge band's backdrop tint removed
    backdrop: tuple[int, int, int]
    shading: np.ndarray
    confidence: float
    reason_en: str = ""
    reason_zh: str = ""
    method: str = METHOD


def _lab(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lab of uint8 RGB pixels as three float32 planes (L 0..100, a and b around 0).

    The 8-bit conversion is several times faster than the float one at 2048² and its rounding
    (under 0.4 L units) is far below any tolerance used here."""
    lab8 = cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab)
    light, green_red, blue_yellow = cv2.split(lab8)
    return (
        light.astype(np.float32) * np.float32(100 / 255),
        green_red.astype(np.float32) - np.float32(128),
        blue_yellow.astype(np.float32) - np.float32(128),
    )


def border_pixels(pixels: np.ndarray, width: int) -> np.ndarray:
    """The pixels of a ``width``-wide frame along the picture's four edges, as a list."""
    return np.concatenate(
        [
            pixels[:width].reshape(-1, pixels.shape[-1]),
            pixels[-width:].reshape(-1, pixels.shape[-1]),
            pixels[width:-width, :width].reshape(-1, pixels.shape[-1]),
            pixels[width:-width, -width:].reshape(-1, pixels.shape[-1]),
        ]
    )


def enclosed(mask: np.ndarray) -> np.ndarray:
    """Pixels enclosed by ``mask`` (not reachable from the picture's border through non-mask)."""
    height, width = mask.shape
    outside = np.zeros((height + 2, width + 2), np.uint8)
    outside[1:-1, 1:-1] = mask
    flood = outside.copy()
    cv2.floodFill(flood, np.zeros((height + 4, width + 4), np.uint8), (0, 0), 2)
    return (flood[1:-1, 1:-1] == 0).astype(bool)


def _keep_main_parts(mask: np.ndarray, min_share: float) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask.astype(bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    keep[1:] = areas >= max(16, areas.max() * min_share)
    return keep[labels]


def _matte_band(
    pixels: np.ndarray, sure_fg: np.ndarray, sure_bg: np.ndarray, box: tuple[int, int, int, int]
) -> np.ndarray:
    """Closed-form matting of the unknown pixels inside ``box`` on a reduced copy; returns the
    box's alpha at full resolution (float32)."""
    from pymatting import estimate_alpha_cf  # imported here: numba start-up is paid only by cut-outs

    x0, y0, x1, y1 = box
    crop = pixels[y0:y1, x0:x1]
    height, width = crop.shape[:2]
    scale = min(1.0, MATTE_SIDE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0
    fg_small = cv2.resize(sure_fg[y0:y1, x0:x1].astype(np.uint8), size, interpolation=cv2.INTER_AREA)
    bg_small = cv2.resize(sure_bg[y0:y1, x0:x1].astype(np.uint8), size, interpolation=cv2.INTER_AREA)
    trimap = np.full(size[::-1], 0.5)
    trimap[bg_small > 0] = 0.0
    trimap[fg_small > 0] = 1.0
    if not (trimap == 0.5).any() or not (trimap == 1.0).any() or not (trimap == 0.0).any():
        return sure_fg[y0:y1, x0:x1].astype(np.float32)
    alpha = estimate_alpha_cf(small, trimap, laplacian_kwargs={"epsilon": 1e-6})
    return cv2.resize(alpha.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def _seen_through(product: np.ndarray, holes: np.ndarray, pixels: int) -> np.ndarray:
    """Which enclosed backdrop-coloured holes are backdrop seen through the product (the inside
    of a handle) rather than a backdrop-coloured part of it (a white label on a mug).

    Both are enclosed; what tells them apart is what encloses them: a handle or strap is thin,
    so the product around a seen-through hole is near the outer backdrop, while a label sits
    in the product's body, far from it. Specks (under ``HOLE_SHARE`` of the picture) are part
    of the product (the inside of an 'o' in a logo)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=4)
    big = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= HOLE_SHARE * pixels)
    big = big[big > 0]
    seen = np.zeros(count, bool)
    if big.size == 0:
        return seen[labels]
    # Distance of each product pixel to the backdrop outside (holes counted as product).
    depth = cv2.distanceTransform((product | holes).astype(np.uint8), cv2.DIST_L2, 3)
    for index in big:
        x, y, w, h, area = stats[index]
        y0, y1 = max(0, y - 2), min(holes.shape[0], y + h + 2)
        x0, x1 = max(0, x - 2), min(holes.shape[1], x + w + 2)
        hole = labels[y0:y1, x0:x1] == index
        ring = cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~hole
        around = depth[y0:y1, x0:x1][ring]
        seen[index] = around.size > 0 and float(np.median(around)) <= 0.15 * np.sqrt(area) + 2.0
    return seen[labels]


#: Mean |dL/dx| + |dL/dy| (Sobel, L in 0..100) along an edge above which it is sharp: a grey
#: part of the product, not a soft shadow.
SHARP_EDGE = 3.0


def _sharp_parts(light: np.ndarray, candidates: np.ndarray, backdrop: np.ndarray, short: int) -> np.ndarray:
    """The shadow-coloured regions (the backdrop's hue, darker) that are grey parts of the product:
    a shadow fades into the backdrop, a silver lid or a grey strap ends at a sharp edge."""
    if not candidates.any():
        return candidates
    scale = min(1.0, 512 / short)  # edges are judged on a copy of at most 512 px a side
    size = (max(8, round(light.shape[1] * scale)), max(8, round(light.shape[0] * scale)))
    small_light = cv2.resize(light, size, interpolation=cv2.INTER_AREA)
    small_candidates = cv2.resize(candidates.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    small_backdrop = cv2.resize(backdrop.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    edges = np.abs(cv2.Sobel(small_light, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(
        cv2.Sobel(small_light, cv2.CV_32F, 0, 1, ksize=3)
    )
    count, labels = cv2.connectedComponents(small_candidates, connectivity=8)
    ring = cv2.dilate(small_candidates, np.ones((3, 3), np.uint8)).astype(bool) & small_backdrop
    sharp = np.zeros(count, bool)
    if ring.any():
        # Each ring pixel belongs to the neighbouring candidate region it touches.
        owner = cv2.dilate(labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)[ring]
        total = np.bincount(owner, weights=edges[ring] / 8.0, minlength=count)
        pixels = np.bincount(owner, minlength=count)
        sharp[1:] = (pixels[1:] > 0) & (total[1:] > SHARP_EDGE * pixels[1:])
    return (
        cv2.resize(
            sharp[labels].astype(np.uint8), (light.shape[1], light.shape[0]), interpolation=cv2.INTER_NEAREST
        ).astype(bool)
        & candidates
    )


def _shading(light: np.ndarray, backdrop_light: float, shadowy: np.ndarray, sigma: float) -> np.ndarray:
    """How much darker than the backdrop each shadow pixel is (1 = not at all), smooth; worked
    out on a quarter-size copy since shadows are soft, then scaled back up."""
    height, width = light.shape
    size = (max(4, width // 4), max(4, height // 4))
    small_light = cv2.resize(light, size, interpolation=cv2.INTER_AREA)
    small_shadowy = cv2.resize(shadowy.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5
    ratio = np.minimum((small_light + 1.0) / (backdrop_light + 1.0), 1.0)
    small = np.where(small_shadowy, ratio, 1.0).astype(np.float32)
    small = cv2.GaussianBlur(small, (0, 0), max(0.7, sigma / 4))
    # A backdrop's noise is not a shadow: only real darkening (over 3 %) is carried over.
    small[small > 0.97] = 1.0
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def separate(pixels: np.ndarray) -> Separation:
    """Separate the product from a plain backdrop; see the module docstring for the method."""
    height, width = pixels.shape[:2]
    short = min(height, width)
    light, green_red, blue_yellow = _lab(pixels)
    frame = max(2, short // 100)
    border = np.stack(
        [border_pixels(plane[..., None], frame)[:, 0] for plane in (light, green_red, blue_yellow)], axis=1
    )
    backdrop_lab = np.median(border, axis=0).astype(np.float32)
    border_distance = np.linalg.norm(border - backdrop_lab, axis=1)
    # The backdrop's own spread (noise, gradient, vignette) sets the tolerance.
    spread = float(np.percentile(border_distance, 90))
    tolerance = max(6.0, spread * 1.6 + 3.0)
    backdrop_share = float((border_distance <= tolerance).mean())

    d_light = light - backdrop_lab[0]
    d_a = green_red - backdrop_lab[1]
    d_b = blue_yellow - backdrop_lab[2]
    chroma2 = d_a * d_a + d_b * d_b
    distance2 = chroma2 + d_light * d_light
    tolerance2 = np.float32(tolerance * tolerance)
    # Shadow: the backdrop's hue, only darker (but not black).
    backdrop_light = float(backdrop_lab[0])
    shadowy = (chroma2 <= tolerance2) & (d_light < 0) & (light > 0.45 * backdrop_light)

    product = distance2 > tolerance2
    grey_parts = _sharp_parts(light, product & shadowy, ~product, short)
    shadowy &= ~grey_parts
    without_shadow = product & ~shadowy
    if np.count_nonzero(without_shadow) >= 0.5 * np.count_nonzero(product):
        product = without_shadow
    else:  # a grey product on a white backdrop: its own pixels look like shadow, keep them
        shadowy &= ~product
    # No morphological opening: it would break a 2-3 px handle or strap off the product. Specks
    # of noise are dropped by their size instead.
    product = _keep_main_parts(product, 0.003)
    holes = enclosed(product)
    if holes.any():
        product |= holes & ~_seen_through(product, holes, height * width)

    area = float(np.count_nonzero(product)) / product.size
    touching = float(border_pixels(product[..., None], frame).mean())
    inside = distance2[product]
    contrast = float(np.sqrt(np.median(inside))) / tolerance if inside.size else 0.0
    checks = [
        (
            min(1.0, backdrop_share / 0.75),
            "the picture's edges are not one backdrop colour",
            "画面边缘不是统一的背景色",
        ),
        (min(1.0, 9.0 / max(spread, 1e-3)), "the backdrop is busy or textured", "背景有纹理或太杂"),
        (
            min(1.0, area / 0.01) if area <= 0.9 else 0.0,
            "no distinct product stands out",
            "没有找到明显的主体",
        ),
        (
            min(1.0, contrast / 2.0),
            "the product is too close to the backdrop's colour",
            "主体和背景颜色太接近",
        ),
        (
            min(1.0, (0.6 - touching) / 0.3),
            "the subject fills the edges of the picture",
            "主体占满了画面边缘",
        ),
    ]
    confidence = max(0.0, min(score for score, _, _ in checks))
    weakest = min(checks, key=lambda check: check[0])
    band = max(2, round(short * BAND_SHARE))
    kernel = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    product8 = product.astype(np.uint8)
    sure_fg = cv2.erode(product8, kernel).astype(bool) | ((distance2 > 9.0 * tolerance2) & product)
    sure_bg = ~cv2.dilate(product8, kernel).astype(bool)
    alpha = product.astype(np.float32)
    foreground = pixels
    backdrop_rgb = np.median(border_pixels(pixels, frame), axis=0)
    unknown = ~sure_fg & ~sure_bg
    if confidence >= MIN_CONFIDENCE and unknown.any():
        ys, xs = np.nonzero(unknown)
        pad = 2 * band
        box = (
            max(0, int(xs.min()) - pad),
            max(0, int(ys.min()) - pad),
            min(width, int(xs.max()) + pad + 1),
            min(height, int(ys.max()) + pad + 1),
        )
        x0, y0, x1, y1 = box
        matte = _matte_band(pixels, sure_fg, sure_bg, box)
        region = unknown[y0:y1, x0:x1]
        # Where the colour alone is clear-cut at full resolution it decides (sharp edges, thin
        # parts); the matte decides the ambiguous pixels.
        by_colour = np.clip((np.sqrt(distance2[y0:y1, x0:x1]) - 0.5 * tolerance) / tolerance, 0.0, 1.0)
        clear = (by_colour <= 0.0) | (by_colour >= 1.0)
        mixed = np.where(clear, by_colour, np.clip(matte, 0.0, 1.0))
        alpha_box = alpha[y0:y1, x0:x1]
        alpha_box[region] = mixed[region]
        foreground = pixels.copy()
        crop = pixels[y0:y1, x0:x1][region].astype(np.float32)
        a = np.clip(alpha_box[region], 0.05, 1.0)[:, None]
        freed = np.clip((crop - (1.0 - a) * backdrop_rgb.astype(np.float32)) / a, 0, 255)
        fg_box = foreground[y0:y1, x0:x1]
        fg_box[region] = freed.round().astype(np.uint8)
    shading = _shading(light, backdrop_light, shadowy & (alpha < 0.5), short / 500)
    return Separation(
        alpha=alpha,
        foreground=foreground,
        backdrop=(int(backdrop_rgb[0]), int(backdrop_rgb[1]), int(backdrop_rgb[2])),
        shading=shading,
        confidence=round(confidence, 3),
        reason_en=weakest[1] if confidence < MIN_CONFIDENCE else "",
        reason_zh=weakest[2] if confidence < MIN_CONFIDENCE else "",
    )
