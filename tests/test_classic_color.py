"""Recolouring and removal on real photographs: only the named colour in the named place changes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine import Editor
from engine.classic.regions import place_rect
from engine.plan import Box, EditPlan, Place, Recolor, Remove
from imgedit.errors import BadInputError, UnsupportedOperationError
from tests.classic_images import changed_rect, hue_degrees
from tests.conftest import skimage_photo

RED = (215, 35, 35)
GREEN = (40, 170, 60)


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


def _edit(editor: Editor, image: Image.Image, op) -> Image.Image:
    return editor.edit(image=image, prompt="test", plan=EditPlan(instruction="test", operations=[op])).image


def _two_patches(color: tuple[int, int, int]) -> Image.Image:
    """The astronaut photo with a shaded patch of ``color`` in the top-left and the bottom-right."""
    image = skimage_photo("astronaut")
    draw = ImageDraw.Draw(image)
    for x0, y0 in ((20, 20), (400, 400)):
        for step in range(10):  # shading: darker rows towards the bottom
            shade = 1.0 - step * 0.04
            fill = tuple(round(c * shade) for c in color)
            draw.rectangle((x0, y0 + step * 8, x0 + 80, y0 + step * 8 + 7), fill=fill)
    return image


def test_recolor_red_to_blue_only_where_named(editor: Editor) -> None:
    before = _two_patches(RED)
    after = _edit(editor, before, Recolor(from_color="red", to_color="blue", place=Place.TOP_LEFT))
    patch = np.asarray(after)[24:96, 24:96]
    hue = hue_degrees(patch)
    assert np.all(np.abs(hue - 220) < 20), "the named patch is not blue"
    # Shading is kept: lightness still falls row by row as before.
    before_l = np.asarray(before.convert("L"))[24:96:8, 50].astype(int)
    after_l = np.asarray(after.convert("L"))[24:96:8, 50].astype(int)
    assert np.all(np.diff(before_l) <= 0) and np.all(np.diff(after_l) <= 0)
    # Nothing outside the top-left third changed; the other red patch is still red.
    changed = changed_rect(before, after)
    assert changed is not None
    assert place_rect(Place.TOP_LEFT, *before.size).intersect(changed) == changed
    assert np.array_equal(np.asarray(after)[400:480, 400:480], np.asarray(before)[400:480, 400:480])


def test_recolor_in_a_box_takes_the_dominant_colour(editor: Editor) -> None:
    before = _two_patches(GREEN)
    box = Box(x0=400 / 512, y0=400 / 512, x1=490 / 512, y1=490 / 512)
    after = _edit(editor, before, Recolor(to_color="红色", box=box))
    hue = hue_degrees(np.asarray(after)[404:476, 404:476])
    assert np.all(np.minimum(hue, 360 - hue) < 15), "the boxed patch is not red"
    assert np.array_equal(np.asarray(after)[20:100, 20:100], np.asarray(before)[20:100, 20:100])


def test_recolor_of_an_object_in_a_busy_scene_is_refused_in_the_users_language(editor: Editor) -> None:
    photo = skimage_photo("astronaut")
    # No single product on a plain backdrop: the object cannot be found, so nothing is guessed.
    plan = EditPlan(instruction="make the dress blue", operations=[Recolor(target="dress", to_color="blue")])
    with pytest.raises(UnsupportedOperationError, match=r"'dress'.*its current colour or its place"):
        editor.edit(image=photo, prompt="make the dress blue", plan=plan)
    with pytest.raises(UnsupportedOperationError, match=r"无法单独找到“裙子”.*颜色或位置"):
        editor.edit(image=photo, prompt="把裙子换成蓝色")


def test_remove_by_colour_and_place(editor: Editor) -> None:
    before = _two_patches(GREEN)
    after = _edit(editor, before, Remove(color="green", place=Place.BOTTOM_RIGHT))
    changed = changed_rect(before, after)
    assert changed is not None
    assert place_rect(Place.BOTTOM_RIGHT, *before.size).padded(8, *before.size).intersect(changed) == changed
    removed = np.asarray(after)[404:476, 404:476].astype(int)
    greenness = removed[..., 1] - removed[..., [0, 2]].max(axis=-1)
    assert float(np.mean(greenness > 60)) < 0.02, "the green patch is still there"
    assert np.array_equal(np.asarray(after)[20:100, 20:100], np.asarray(before)[20:100, 20:100])


def test_remove_the_object_in_a_place(editor: Editor) -> None:
    before = skimage_photo("coffee")
    draw = ImageDraw.Draw(before)
    draw.ellipse((470, 300, 540, 370), fill=(30, 90, 200))  # a blue sticker in the bottom right
    after = _edit(editor, before, Remove(place=Place.BOTTOM_RIGHT))
    sticker = np.asarray(after)[315:355, 485:525].astype(int)
    assert float(np.mean(sticker[..., 2] - sticker[..., 0] > 60)) < 0.05
    changed = changed_rect(before, after)
    assert changed is not None
    assert place_rect(Place.BOTTOM_RIGHT, *before.size).padded(8, *before.size).intersect(changed) == changed


def test_remove_errors_are_clear(editor: Editor) -> None:
    photo = skimage_photo("chelsea")
    with pytest.raises(BadInputError, match="Nothing purple"):
        _edit(editor, photo, Remove(color="purple", place=Place.TOP_LEFT))
    with pytest.raises(UnsupportedOperationError, match=r"remove.*qwen"):
        _edit(editor, photo, Remove(target="cup"))
    with pytest.raises(BadInputError, match="Unknown colour 'blurple'"):
        _edit(editor, photo, Remove(color="blurple"))
