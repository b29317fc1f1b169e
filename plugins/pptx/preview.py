"""A before/after contact sheet: one row per restyled image, original left, result right.

For a quick look at "one theme, one look" across the whole deck before sending it on.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from engine.imageio import save_image

THUMB_HEIGHT = 180
MAX_THUMB_WIDTH = 320
_PAD = 12
_LABEL = 18


def contact_sheet(pairs: list[tuple[str, bytes, bytes]], path: Path) -> Path:
    """Write a PNG of ``(label, before, after)`` rows to ``path``."""
    rows = [(label, _thumb(before), _thumb(after)) for label, before, after in pairs]
    width = 3 * _PAD + 2 * MAX_THUMB_WIDTH
    height = _PAD + max(1, len(rows)) * (THUMB_HEIGHT + _LABEL + _PAD)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    if not rows:
        draw.text((_PAD, _PAD), "no images were restyled", fill="black")
    y = _PAD
    for label, before, after in rows:
        draw.text((_PAD, y), label, fill="black")
        for column, thumb in enumerate((before, after)):
            x = _PAD + column * (MAX_THUMB_WIDTH + _PAD)
            sheet.paste(thumb, (x, y + _LABEL), thumb if thumb.mode == "RGBA" else None)
        y += THUMB_HEIGHT + _LABEL + _PAD
    return save_image(sheet, path, "PNG")


def _thumb(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA")
    return ImageOps.contain(image, (MAX_THUMB_WIDTH, THUMB_HEIGHT))
