"""Adding a tag ("新品上市", "SALE") or a plain label to an image.

A badge is a rounded rectangle with the text, in colours that contrast with each other and with
the picture where it lands; a label is the text alone with a thin contrasting outline. Unless
a place is named, it goes into the least busy corner (lowest mean gradient), so it covers as
little of the picture's detail as possible.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from engine.classic.colors import rgb_of
from engine.classic.context import OpContext, pixels_of
from engine.classic.fonts import drawable_font
from engine.classic.regions import CORNERS, Rect, box_rect, place_rect
from engine.plan import Place, TextAdd

#: Badge fills to choose from when no colour is named: sale red, near-black, white, gold.
PALETTE: tuple[tuple[int, int, int], ...] = ((229, 57, 53), (33, 33, 33), (255, 255, 255), (255, 193, 7))
#: Text height as a share of the image's shorter side.
TEXT_SHARE = 0.05
#: Distance from the image's edges as a share of the shorter side.
MARGIN_SHARE = 0.03


def luminance(rgb: tuple[int, int, int]) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def ink_for(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or near-black, whichever reads better on ``fill``."""
    return (255, 255, 255) if luminance(fill) < 150 else (20, 20, 20)


def _position(place: Place, width: int, height: int, w: int, h: int, margin: int) -> tuple[int, int]:
    """Top-left corner of a ``w`` x ``h`` badge placed at ``place`` with ``margin`` from the edges."""
    area = place_rect(place, width, height)
    if place in (Place.TOP_LEFT, Place.LEFT, Place.BOTTOM_LEFT):
        x = margin
    elif place in (Place.TOP_RIGHT, Place.RIGHT, Place.BOTTOM_RIGHT):
        x = width - margin - w
    else:
        x = (area.x0 + area.x1 - w) // 2
    if place in (Place.TOP_LEFT, Place.TOP, Place.TOP_RIGHT):
        y = margin
    elif place in (Place.BOTTOM_LEFT, Place.BOTTOM, Place.BOTTOM_RIGHT):
        y = height - margin - h
    else:
        y = (area.y0 + area.y1 - h) // 2
    return x, y


def busyness(pixels: np.ndarray, rect: Rect) -> float:
    """Mean gradient magnitude inside ``rect``: how much detail a badge there would hide."""
    grey = cv2.cvtColor(pixels[rect.y0 : rect.y1, rect.x0 : rect.x1], cv2.COLOR_RGB2GRAY)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return float(cv2.magnitude(gx, gy).mean())


def least_busy_corner(pixels: np.ndarray, w: int, h: int, margin: int) -> Place:
    height, width = pixels.shape[:2]

    def score(corner: Place) -> float:
        x, y = _position(corner, width, height, w, h, margin)
        return busyness(pixels, Rect(x, y, x + w, y + h))

    return min(CORNERS, key=score)


def _choose_fill(pixels: np.ndarray, rect: Rect) -> tuple[int, int, int]:
    """The palette colour that stands out most from the picture under ``rect``."""
    under = pixels[rect.y0 : rect.y1, rect.x0 : rect.x1].reshape(-1, 3).mean(axis=0)
    return max(PALETTE, key=lambda c: float(np.linalg.norm(np.array(c, float) - under)))


def add_text(image: Image.Image, op: TextAdd, ctx: OpContext) -> Image.Image:
    pixels = pixels_of(image)
    height, width = pixels.shape[:2]
    text = op.text.strip()
    face = drawable_font(text, ctx)
    size = max(12, round(min(width, height) * TEXT_SHARE))
    margin = max(4, round(min(width, height) * MARGIN_SHARE))
    badge = op.style == "badge"
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    while True:
        font = face.at(size)
        x0, y0, x1, y1 = measure.textbbox((0, 0), text, font=font)
        pad_x, pad_y = (round(size * 0.6), round(size * 0.35)) if badge else (round(size * 0.15),) * 2
        w, h = int(x1 - x0) + 2 * pad_x, int(y1 - y0) + 2 * pad_y
        if w <= width - 2 * margin or size <= 8:
            break
        size = max(8, int(size * (width - 2 * margin) / w))
    w, h = min(w, width), min(h, height)

    with ctx.timed("layout"):
        if op.box is not None:
            area = box_rect(op.box, width, height)
            left, top = (area.x0 + area.x1 - w) // 2, (area.y0 + area.y1 - h) // 2
        else:
            place = op.place or least_busy_corner(pixels, w, h, margin)
            left, top = _position(place, width, height, w, h, margin)
        left, top = min(max(0, left), width - w), min(max(0, top), height - h)
        rect = Rect(left, top, left + w, top + h)
        fill = rgb_of(op.color, "badge colour") if op.color else _choose_fill(pixels, rect)

    with ctx.timed("render"):
        canvas = Image.fromarray(pixels)
        draw = ImageDraw.Draw(canvas)
        ink = ink_for(fill)
        origin = (left + pad_x - x0, top + pad_y - y0)
        if badge:
            draw.rounded_rectangle((left, top, left + w - 1, top + h - 1), radius=h * 0.3, fill=fill)
            draw.text(origin, text, font=font, fill=ink)
        else:
            draw.text(origin, text, font=font, fill=fill, stroke_width=max(1, size // 14), stroke_fill=ink)
    return canvas
