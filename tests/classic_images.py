"""Test images for the classic engine: real photographs with text, shapes and texture drawn on."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from engine.classic.fonts import find_font
from engine.classic.ocr import TextLine, read_text
from engine.classic.regions import Rect
from tests.conftest import skimage_photo


def with_text(
    photo: str,
    text: str,
    xy: tuple[int, int],
    size: int,
    fill: tuple[int, int, int],
    panel: tuple[int, int, int] | None = None,
) -> Image.Image:
    """``photo`` with ``text`` drawn at ``xy``; on a flat ``panel`` colour when given (a banner)."""
    image = skimage_photo(photo)
    draw = ImageDraw.Draw(image)
    font = find_font(text).at(size)
    if panel is not None:
        x0, y0, x1, y1 = draw.textbbox(xy, text, font=font)
        draw.rectangle((x0 - 14, y0 - 12, x1 + 14, y1 + 12), fill=panel)
    draw.text(xy, text, font=font, fill=fill)
    return image


def ocr_texts(image: Image.Image) -> list[str]:
    return [line.text for line in read_text(np.asarray(image.convert("RGB")))]


def line_with(image: Image.Image, text: str) -> TextLine:
    """The OCR line containing ``text`` (spaces ignored); fails the test if there is none."""
    wanted = text.replace(" ", "")
    for line in read_text(np.asarray(image.convert("RGB"))):
        if wanted in line.text.replace(" ", ""):
            return line
    raise AssertionError(f"'{text}' not found by OCR in {ocr_texts(image)}")


def changed_rect(before: Image.Image, after: Image.Image) -> Rect | None:
    """The bounding box of every pixel that differs, or None when the images are identical."""
    diff = np.abs(np.asarray(before, np.int16) - np.asarray(after, np.int16)).max(axis=2)
    ys, xs = np.nonzero(diff)
    if ys.size == 0:
        return None
    return Rect(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def psnr_outside(before: Image.Image, after: Image.Image, rect: Rect) -> float:
    """PSNR (dB) over the pixels outside ``rect``; infinity when they are identical."""
    a = np.asarray(before, np.float64)
    b = np.asarray(after, np.float64)
    keep = np.ones(a.shape[:2], bool)
    keep[rect.y0 : rect.y1, rect.x0 : rect.x1] = False
    mse = float(((a - b) ** 2)[keep].mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def hue_degrees(pixels: np.ndarray) -> np.ndarray:
    """Hue in degrees of uint8 RGB pixels."""
    import cv2

    return cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)[..., 0]
