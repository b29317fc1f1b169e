"""Colour words as pixel masks: which pixels are "the red ones".

A named colour becomes a hue band (for chromatic colours) or a lightness band (black, white,
grey), measured in OpenCV's HLS space on float images (hue in degrees, L and S in 0..1).
Membership is soft at the band's edges so recolouring and removal blend instead of leaving
hard fringes.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from engine.parsing.colors import parse_color
from imgedit.errors import BadInputError

#: Hue distance (degrees) fully inside a colour, and where membership fades to zero.
HUE_CORE = 12.0
HUE_EDGE = 22.0
#: Pixels less saturated than this are greys, whatever their hue.
MIN_SATURATION = 0.22
#: A colour whose own saturation is below this is achromatic (black, white, grey, silver).
ACHROMATIC = 0.15


def rgb_of(name: str | None, what: str = "colour") -> tuple[int, int, int]:
    """The RGB a colour word means, or a ``BadInputError`` that names the word."""
    rgb = parse_color(name or "")
    if rgb is None:
        raise BadInputError(
            f"Unknown {what} '{name}'.",
            hint="Use a colour name such as red, 蓝色, dark green, or a hex code such as #ff8800.",
        )
    return rgb


def hls_of(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """(hue in degrees, lightness 0..1, saturation 0..1) of an RGB colour."""
    h, lightness, s = colorsys.rgb_to_hls(*(c / 255.0 for c in rgb))
    return h * 360.0, lightness, s


def to_hls(pixels: np.ndarray) -> np.ndarray:
    """Float HLS (H in degrees) of uint8 RGB pixels."""
    return cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_RGB2HLS)


def from_hls(hls: np.ndarray) -> np.ndarray:
    """Float RGB (0..255) of float HLS pixels (H in degrees)."""
    return cv2.cvtColor(hls.astype(np.float32), cv2.COLOR_HLS2RGB) * 255.0


def color_weight(hls: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """How much each pixel belongs to colour ``rgb`` (0..1, float32)."""
    hue, lightness, saturation = hls_of(rgb)
    h, li, s = hls[..., 0], hls[..., 1], hls[..., 2]
    if saturation < ACHROMATIC:
        # Black, white and greys: judged by lightness among unsaturated pixels.
        closeness = 1.0 - np.clip((np.abs(li - lightness) - 0.12) / 0.12, 0.0, 1.0)
        grey = 1.0 - np.clip((s - 0.25) / 0.15, 0.0, 1.0)
        return (closeness * grey).astype(np.float32)
    distance = np.abs(((h - hue) + 180.0) % 360.0 - 180.0)
    by_hue = 1.0 - np.clip((distance - HUE_CORE) / (HUE_EDGE - HUE_CORE), 0.0, 1.0)
    by_saturation = np.clip((s - MIN_SATURATION) / 0.1, 0.0, 1.0)
    # Near-black and near-white pixels carry no reliable hue.
    by_lightness = np.clip((li - 0.06) / 0.06, 0.0, 1.0) * np.clip((0.96 - li) / 0.04, 0.0, 1.0)
    return (by_hue * by_saturation * by_lightness).astype(np.float32)


def main_colors(samples: np.ndarray, most: int = 4, min_share: float = 0.08) -> np.ndarray:
    """The main colours among ``samples`` (N x 3, any colour space): k-means centres of clusters
    holding at least ``min_share`` of them, so stray pixels (a letter cut through) do not count."""
    samples = samples.astype(np.float32)
    clusters = min(most, len(samples))
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(0)
    _, labels, centers = cv2.kmeans(samples, clusters, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    share = np.bincount(labels.ravel(), minlength=clusters) / len(samples)
    return centers[share >= min_share]
