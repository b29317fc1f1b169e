"""Background edits that never damage the product: cut-outs, new backdrops with the contact
shadow kept, and honest refusals on busy scenes, in the user's language."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine import Editor
from engine.classic.background import SeparationError
from engine.imageio import encode_image
from imgedit.errors import NothingChangedError
from tests.conftest import skimage_photo
from tests.product_shots import BACKDROP, BODY, HANDLE, LOOP, MUG, SHADOW, mug_shot


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


def _at(image: Image.Image, point: tuple[int, int]) -> np.ndarray:
    return np.asarray(image)[point[1], point[0]].astype(int)


def test_transparent_cut_out_keeps_the_thin_handle(editor: Editor) -> None:
    before = mug_shot()
    draw = ImageDraw.Draw(before)
    draw.rectangle((58, 60, 92, 80), fill=BACKDROP)  # a label of the backdrop's colour
    draw.rectangle((45, 30, 105, 40), fill=(200, 200, 198))  # a silver lid: shadow-coloured, sharp-edged
    result = editor.edit(image=before, prompt="去掉背景，做成透明背景")
    cut = result.image
    assert cut.mode == "RGBA" and cut.size == (160, 160)
    alpha = np.asarray(cut.getchannel("A"))
    assert alpha[HANDLE[1], HANDLE[0]] == 255 and alpha[BODY[1], BODY[0]] == 255  # the product is opaque
    assert np.abs(_at(cut, HANDLE)[:3] - MUG).max() <= 3  # and keeps its colour
    assert alpha[LOOP[1], LOOP[0]] == 0 and alpha[SHADOW[1], SHADOW[0]] == 0  # the backdrop is clear
    assert alpha[60:81, 58:93].min() == 255  # the label is the product's, not a hole in it
    assert alpha[31:40, 46:105].min() == 255  # the grey lid is the product's, not a shadow
    assert float((alpha[:, :40] > 0).mean()) == 0.0 and float((alpha[:28] > 0).mean()) == 0.0
    assert [op["op"] for op in result.report.plan["operations"]] == ["background"]  # one clause, merged
    assert "matting" in result.report.parameters["0.background.separation"]
    # A JPEG has no alpha: the cut-out comes out on white.
    jpeg = Image.open(io.BytesIO(encode_image(cut, "JPEG")))
    assert np.asarray(jpeg)[5, 5].min() >= 250 and np.asarray(jpeg)[LOOP[1], LOOP[0]].min() >= 250


def test_new_backdrop_keeps_the_handle_and_the_contact_shadow(editor: Editor) -> None:
    before = mug_shot()
    after = editor.edit(image=before, prompt="把背景换成浅灰色").image
    assert np.abs(_at(after, HANDLE) - MUG).max() <= 3
    assert np.abs(_at(after, LOOP) - 200).max() <= 3 and np.abs(_at(after, (5, 5)) - 200).max() <= 3
    shadow = _at(after, SHADOW)
    assert shadow.max() < 190 and shadow.min() > 120  # the mug still stands on the new backdrop


def test_white_in_brackets_makes_the_backdrop_white_and_keeps_white_print(editor: Editor) -> None:
    before = mug_shot(seed=2)
    Image.Image.paste(before, (255, 255, 255), (60, 70, 90, 76))  # white print on the mug
    before = Image.fromarray(np.asarray(before).copy())
    ImageDraw.Draw(before).rectangle((8, 8, 30, 20), fill=(235, 235, 233))  # a near-white smudge
    after = editor.edit(image=before, prompt="去掉背景（白底）").image
    assert after.mode == "RGB"
    assert np.asarray(after)[70:76, 60:90].min() >= 250  # the white print is still there
    assert _at(after, (5, 150)).min() >= 250 and _at(after, LOOP).min() >= 250
    assert np.abs(_at(after, HANDLE) - MUG).max() <= 3


def test_busy_scenes_are_refused_with_the_reason_in_the_users_language(editor: Editor) -> None:
    with pytest.raises(SeparationError, match="背景没有修改：背景有纹理或太杂") as caught:
        editor.edit(image=skimage_photo("chelsea"), prompt="去掉背景")
    assert "IMGEDIT" not in caught.value.message and caught.value.hint
    with pytest.raises(SeparationError, match="background was left unchanged"):
        editor.edit(image=skimage_photo("astronaut"), prompt="make the background white")


def test_blur_on_a_busy_scene_falls_back_and_says_so(editor: Editor) -> None:
    result = editor.edit(image=skimage_photo("astronaut").resize((256, 256)), prompt="blur the background")
    assert "GrabCut" in result.report.parameters["0.background.separation"]
    assert any("GrabCut" in warning for warning in result.report.warnings)


def test_an_edit_that_changes_nothing_is_an_error(editor: Editor) -> None:
    square = Image.new("RGB", (64, 64), BACKDROP)
    with pytest.raises(NothingChangedError, match="“补白成正方形”没有改变图片：图片（64x64）本来就是这样"):
        editor.edit(image=square, prompt="补白成正方形")
