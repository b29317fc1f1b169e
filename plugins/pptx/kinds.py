"""Photo or graphic: is a picture a photograph, or a logo, chart, diagram or screenshot?

A theme is meant for photographs: grain and a vignette on a Gantt chart, or a tint on a
government logo, spoil them. Graphics are drawn, not shot: large flat areas with few colours,
and edges that jump from one colour to another in one pixel. Photographs (and photographic
textures) have noise and soft transitions almost everywhere.

The measure, on a copy at most 256 px a side (nearest-neighbour, so that drawn edges stay hard):
for each pair of neighbouring pixels, the largest channel difference ``d``. ``soft`` is the share of
pairs with 2 < d <= 24 (texture, noise, gradients that move), ``hard`` the share with d > 64 (drawn
edges), ``changing`` the share with d > 2. A picture is a photo when it is textured
(``soft >= 0.18``) and its changes are mostly not hard edges (``hard / changing < 0.15``).
Calibrated on the corpus decks' pictures (logos, a Gantt chart, diagrams, slide backgrounds drawn
as flat gradients, textures, a flower photo) and scikit-image's photographs; see
tests/test_deck_pictures.py.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

PictureKind = Literal["photo", "graphic"]

_SIDE = 256
_FLAT, _SOFT, _HARD = 2, 24, 64
MIN_SOFT = 0.18
MAX_HARD_SHARE = 0.15


@dataclass(frozen=True)
class Classification:
    kind: PictureKind
    soft: float  # share of neighbour pairs with a small, textured change
    hard_share: float  # share of the changing pairs that are hard edges


def classify(image: Image.Image) -> Classification:
    """Classify a decoded picture (any mode); transparent pixels count as flat."""
    small = image.convert("RGBA")
    if max(small.size) > _SIDE:
        small.thumbnail((_SIDE, _SIDE), Image.Resampling.NEAREST)
    pixels = np.asarray(small, dtype=np.int16)
    alpha = pixels[..., 3:4] > 127
    rgb = np.where(alpha, pixels[..., :3], 0)  # fully transparent areas: one flat colour
    across = np.abs(np.diff(rgb, axis=1)).max(axis=2).ravel()
    down = np.abs(np.diff(rgb, axis=0)).max(axis=2).ravel()
    diffs = np.concatenate([across, down])
    if diffs.size == 0:
        return Classification("graphic", 0.0, 0.0)
    changing = float((diffs > _FLAT).mean())
    soft = float(((diffs > _FLAT) & (diffs <= _SOFT)).mean())
    hard_share = float((diffs > _HARD).mean()) / changing if changing else 0.0
    kind: PictureKind = "photo" if soft >= MIN_SOFT and hard_share < MAX_HARD_SHARE else "graphic"
    return Classification(kind, round(soft, 3), round(hard_share, 3))


def classify_part(data: bytes, *, max_pixels: int) -> PictureKind | None:
    """The kind of an image part's (first frame's) picture; ``None`` when it cannot be decoded
    within ``max_pixels`` (restyling reports that picture's problem itself)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > max_pixels:
                    return None
                opened.seek(0)
                return classify(opened).kind
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return None
