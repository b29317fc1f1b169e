"""Badges and labels: readable, in the corner asked for, or in the least busy one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine import Editor
from engine.classic.regions import place_rect
from engine.plan import EditPlan, Place, TextAdd
from tests.classic_images import changed_rect, line_with
from tests.conftest import skimage_photo


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


def _edit(editor: Editor, image: Image.Image, op) -> Image.Image:
    return editor.edit(image=image, prompt="test", plan=EditPlan(instruction="test", operations=[op])).image


@pytest.mark.parametrize("place", [Place.TOP_LEFT, Place.BOTTOM_RIGHT])
def test_badge_lands_in_the_named_corner_and_reads(editor: Editor, place: Place) -> None:
    before = skimage_photo("astronaut")
    after = _edit(editor, before, TextAdd(text="新品上市", place=place))
    changed = changed_rect(before, after)
    assert changed is not None
    assert place_rect(place, *before.size).intersect(changed) == changed
    line = line_with(after, "新品上市")
    assert place_rect(place, *before.size).contains_point(line.rect.x0, line.rect.y0)


def test_badge_goes_to_the_least_busy_corner(editor: Editor) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (400, 600, 3), dtype=np.uint8)  # busy everywhere...
    pixels[250:, 380:] = (235, 235, 240)  # ...except a plain bottom-right corner
    before = Image.fromarray(pixels)
    after = _edit(editor, before, TextAdd(text="SALE"))
    changed = changed_rect(before, after)
    assert changed is not None
    assert changed.x0 >= 380 and changed.y0 >= 250
    # On a light corner the automatic badge colour is a dark or saturated one, not white.
    badge = np.asarray(after)[changed.y0 + 2, changed.x0 + changed.width // 2]
    assert badge.astype(int).sum() < 600


def test_label_in_a_named_colour(editor: Editor) -> None:
    before = skimage_photo("coffee")
    after = _edit(editor, before, TextAdd(text="Fresh Roast", style="label", color="yellow", place=Place.TOP))
    changed = changed_rect(before, after)
    assert changed is not None
    assert place_rect(Place.TOP, *before.size).intersect(changed) == changed
    assert "freshroast" in line_with(after, "Fresh").text.replace(" ", "").lower()
