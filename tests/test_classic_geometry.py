"""Crop, resize, rotate and flip give the expected sizes and pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine import Editor
from engine.plan import Box, Crop, EditPlan, Flip, Place, Resize, Rotate
from imgedit.errors import BadInputError
from tests.conftest import skimage_photo


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


def _edit(editor: Editor, op, image: Image.Image | None = None) -> Image.Image:
    photo = image or skimage_photo("coffee")  # 600 x 400
    return editor.edit(image=photo, prompt="test", plan=EditPlan(instruction="test", operations=[op])).image


@pytest.mark.parametrize(
    ("op", "size"),
    [
        (Crop(aspect="1:1"), (400, 400)),
        (Crop(aspect="16:9"), (600, 338)),
        (Crop(place=Place.LEFT), (200, 400)),
        (Crop(box=Box(x0=0.1, y0=0.1, x1=0.6, y1=0.6)), (300, 200)),
        (Resize(scale=0.5), (300, 200)),
        (Resize(width=300), (300, 200)),
        (Resize(width=100, height=100), (100, 67)),
        (Resize(width=100, height=100, stretch=True), (100, 100)),
        (Rotate(degrees=90), (400, 600)),
        (Rotate(degrees=-90), (400, 600)),
        (Rotate(degrees=180), (600, 400)),
        (Flip(axis="vertical"), (600, 400)),
    ],
)
def test_output_sizes(editor: Editor, op, size: tuple[int, int]) -> None:
    assert _edit(editor, op).size == size


def test_square_crop_is_centred_and_flip_mirrors(editor: Editor) -> None:
    photo = skimage_photo("coffee")
    square = np.asarray(_edit(editor, Crop(aspect="1:1"), photo))
    assert np.array_equal(square, np.asarray(photo)[:, 100:500])
    mirrored = np.asarray(_edit(editor, Flip(axis="horizontal"), photo))
    assert np.array_equal(mirrored, np.asarray(photo)[:, ::-1])


def test_free_rotation_keeps_every_corner(editor: Editor) -> None:
    rotated = _edit(editor, Rotate(degrees=30))
    assert rotated.size[0] > 600 and rotated.size[1] > 400
    assert rotated.getpixel((0, 0)) == (255, 255, 255)


def test_bad_geometry_is_refused(editor: Editor) -> None:
    with pytest.raises(BadInputError, match="aspect ratio"):
        _edit(editor, Crop(aspect="wide"))
    with pytest.raises(BadInputError, match="outside"):
        _edit(editor, Resize(scale=100))
