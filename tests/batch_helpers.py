"""Catalogue pictures for the batch tests: real photographs with price tags and banners drawn on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from engine.classic.fonts import find_font
from tests.classic_images import ocr_texts
from tests.conftest import skimage_photo

__all__ = ["ocr_texts", "product", "run_batch_cli"]


def product(
    photo: str,
    size: tuple[int, int] = (320, 240),
    *,
    banner: str | None = None,
    price: str | None = None,
) -> Image.Image:
    """A small product shot: ``banner`` white on red across the top left, ``price`` black on a
    yellow tag at the bottom right."""
    image = skimage_photo(photo).resize(size)
    draw = ImageDraw.Draw(image)
    if banner:
        font = find_font(banner).at(30)
        x0, y0, x1, y1 = draw.textbbox((16, 14), banner, font=font)
        draw.rectangle((x0 - 10, y0 - 8, x1 + 10, y1 + 8), fill=(200, 30, 40))
        draw.text((16, 14), banner, font=font, fill=(255, 255, 255))
    if price:
        font = find_font(price).at(30)
        width, height = size
        x0, y0, x1, y1 = draw.textbbox((0, 0), price, font=font)
        left, top = width - (x1 - x0) - 24, height - (y1 - y0) - 22
        draw.rectangle((left - 10, top - 8, left + x1 - x0 + 10, top + y1 - y0 + 12), fill=(255, 220, 0))
        draw.text((left - x0, top - y0), price, font=font, fill=(0, 0, 0))
    return image


def run_batch_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``imgedit batch ARGS`` as a user runs it: a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "batch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def save_as(image: Image.Image, path: Path, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt)
    return path
