"""Background changes: a solid colour or a blur behind the subject.

The subject is separated with GrabCut started from a centred rectangle (the subject of a
product photo or portrait is usually centred); the edge is feathered by a couple of pixels.
This is honest, model-free segmentation: good on plain or defocused backdrops, rough on busy
scenes, and every result carries a warning saying so. Replacing the background with a described
scene needs a generative model and is refused here.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from engine.classic.colors import rgb_of
from engine.classic.context import OpContext, pixels_of
from engine.classic.regions import Rect
from engine.classic.segment import grabcut
from engine.plan import Background
from imgedit.errors import BadInputError, UnsupportedOperationError

#: The subject is assumed inside this centred rectangle (fractions of width and height).
SUBJECT_FRAME = (0.08, 0.05, 0.92, 0.98)
QUALITY_NOTE = (
    "The subject was separated from the background with GrabCut (no segmentation model): "
    "check its edges; busy backgrounds may be separated imperfectly."
)


def subject_mask(pixels: np.ndarray) -> np.ndarray:
    """A feathered float mask (0..1) of the centred subject."""
    height, width = pixels.shape[:2]
    fx0, fy0, fx1, fy1 = SUBJECT_FRAME
    frame = Rect(round(fx0 * width), round(fy0 * height), round(fx1 * width), round(fy1 * height))
    alpha = grabcut(pixels, frame)
    radius = max(1.0, min(height, width) / 400)
    return cv2.GaussianBlur(alpha, (0, 0), radius)


def change_background(image: Image.Image, op: Background, ctx: OpContext) -> Image.Image:
    if op.mode == "replace":
        raise UnsupportedOperationError(
            "The classic engine cannot paint a new scene behind the subject (background replace).",
            hint="Choose a solid colour or a blur ('把背景换成白色', 'blur the background'), "
            "or use the qwen engine.",
        )
    pixels = pixels_of(image)
    height, width = pixels.shape[:2]
    with ctx.timed("segment"):
        alpha = subject_mask(pixels)
    if float(alpha.mean()) < 0.005:
        raise BadInputError(
            "No subject could be separated from the background.",
            hint="The classic engine expects a centred subject; crop the image around it first.",
        )
    with ctx.timed("composite"):
        if op.mode == "solid":
            backdrop = np.empty_like(pixels)
            backdrop[:] = rgb_of(op.color or "white", "background colour")
        else:
            sigma = max(2.0, max(height, width) * 0.015)
            backdrop = cv2.GaussianBlur(pixels, (0, 0), sigma)
        a = alpha[..., None]
        out = (
            (pixels.astype(np.float32) * a + backdrop.astype(np.float32) * (1.0 - a)).round().astype(np.uint8)
        )
    ctx.warn(QUALITY_NOTE)
    return Image.fromarray(out)
