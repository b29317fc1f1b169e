"""Flat panels: the badge, price tag or banner behind a line of text.

A badge (the tool's own "新品上市", a shop's price tag) is text on a flat panel. Recolouring the
badge means recolouring its panel; removing a price tag means removing the panel with its text.
The panel is the colour right around the text, as far as it reaches (up to a text height out).
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.classic.regions import Rect

#: Lab distance (8-bit Lab) within which a pixel is of a flat panel's colour.
PANEL_TOLERANCE = 14.0


def closeness(lab: np.ndarray, center: np.ndarray) -> np.ndarray:
    """How much each pixel (8-bit Lab) is of a flat panel of colour ``center`` (Lab), 0..1."""
    distance = np.linalg.norm(lab - center, axis=2)
    return np.clip((PANEL_TOLERANCE * 1.5 - distance) / (PANEL_TOLERANCE * 0.5), 0.0, 1.0).astype(np.float32)


def panel_weight(pixels: np.ndarray) -> np.ndarray:
    """Pixels of the most common colour of ``pixels`` (a flat badge's panel, any colour), 0..1."""
    lab = cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab).astype(np.float32)
    quantised = (lab // 8).astype(np.int32)
    keys = quantised[..., 0] * 4096 + quantised[..., 1] * 64 + quantised[..., 2]
    values, counts = np.unique(keys, return_counts=True)
    chosen = keys == values[int(np.argmax(counts))]
    return closeness(lab, np.median(lab[chosen], axis=0))


def panel_around(pixels: np.ndarray, text: Rect) -> tuple[Rect, np.ndarray]:
    """The panel behind the text in ``text``: a rectangle around it and, inside, how much each
    pixel is of the panel's colour (0..1), connected to the text's surroundings."""
    height, width = pixels.shape[:2]
    box = text.padded(max(4, text.height), width, height)
    crop = pixels[box.y0 : box.y1, box.x0 : box.x1]
    ring = text.padded(3, width, height)
    frame = pixels[ring.y0 : ring.y1, ring.x0 : ring.x1]
    strips = np.concatenate([frame[:2].reshape(-1, 3), frame[-2:].reshape(-1, 3)])
    reference = cv2.cvtColor(strips.reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).astype(np.float32).reshape(-1, 3)
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2Lab).astype(np.float32)
    weight = closeness(lab, np.median(reference, axis=0))
    # Only the part of that colour that touches the text's frame: not a same-coloured thing nearby.
    _, labels = cv2.connectedComponents((weight > 0.5).astype(np.uint8), connectivity=8)
    inner = Rect(ring.x0 - box.x0, ring.y0 - box.y0, ring.x1 - box.x0, ring.y1 - box.y0)
    touching = np.unique(labels[inner.y0 : inner.y1, inner.x0 : inner.x1])
    connected = np.isin(labels, touching[touching > 0])
    return box, np.where(connected, weight, 0.0).astype(np.float32)
