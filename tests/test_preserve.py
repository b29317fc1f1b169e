"""Preservation: pixels outside the changed region come back identical to the input."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from engine.preserve import preserve_unedited
from tests.conftest import skimage_photo


def _shift(image: Image.Image, dx: int, dy: int) -> Image.Image:
    array = np.asarray(image)
    return Image.fromarray(np.roll(np.roll(array, dy, axis=0), dx, axis=1))


def _local_edit(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    edited = image.copy()
    ImageDraw.Draw(edited).rectangle(box, fill=(20, 200, 40))
    return edited


def test_local_edit_keeps_every_pixel_outside_the_region() -> None:
    original = skimage_photo("astronaut")
    box = (300, 300, 380, 380)
    result = preserve_unedited(original, _local_edit(original, box))
    a, b = np.asarray(original), np.asarray(result.image)
    outside = ~result.mask
    # Grow the region by the feather band: everything beyond it is the input, bit for bit.
    band = 12
    far = np.ones_like(outside)
    far[box[1] - band : box[3] + band, box[0] - band : box[2] + band] = False
    assert np.array_equal(a[far], b[far])
    assert np.array_equal(
        b[box[1] + 2 : box[3] - 2, box[0] + 2 : box[2] - 2], np.full((76, 76, 3), (20, 200, 40))
    )
    assert 0.015 < result.changed_area_ratio < 0.04  # the 80x80 square of 512x512 is 2.4%


def test_drifted_output_is_aligned_back_before_compositing() -> None:
    """A model output shifted by a few pixels (Qwen-Image issue 160) is realigned, so the
    unchanged background is not counted as changed."""
    original = skimage_photo("astronaut")
    edited = _shift(_local_edit(original, (300, 300, 380, 380)), 3, -2)
    result = preserve_unedited(original, edited)
    assert result.alignment is not None
    dx, dy, scale = result.alignment
    assert abs(dx - 3) < 0.6 and abs(dy + 2) < 0.6 and abs(scale - 1) < 0.01
    assert result.changed_area_ratio < 0.05
    assert any("shifted" in warning for warning in result.warnings)


def test_user_mask_limits_the_change() -> None:
    original = skimage_photo("coffee")
    edited = _local_edit(original, (0, 0, original.width - 1, original.height - 1))
    mask = Image.new("L", original.size, 0)
    ImageDraw.Draw(mask).rectangle((10, 10, 109, 109), fill=255)
    result = preserve_unedited(original, edited, mask=mask)
    a, b = np.asarray(original), np.asarray(result.image)
    m = np.asarray(mask) > 0
    assert np.array_equal(a[~m], b[~m])
    assert abs(result.changed_area_ratio - 100 * 100 / (original.width * original.height)) < 1e-3


def test_global_measure_without_composite_returns_the_edit_unchanged() -> None:
    original = skimage_photo("coffee")
    edited = Image.eval(original, lambda v: min(255, v + 40))
    result = preserve_unedited(original, edited, composite=False)
    assert np.array_equal(np.asarray(result.image), np.asarray(edited))
    assert result.changed_area_ratio > 0.5


def test_exact_backend_counts_every_changed_pixel() -> None:
    original = Image.new("RGB", (50, 40), (128, 128, 128))
    edited = original.copy()
    edited.putpixel((5, 5), (140, 128, 128))
    result = preserve_unedited(original, edited, exact=True)
    assert result.changed_area_ratio == 1 / (50 * 40)
    assert np.array_equal(np.asarray(result.image), np.asarray(edited))
