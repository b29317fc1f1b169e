"""Marketplace geometry and colours as a seller checks them: text and product whole after a crop,
padding with the backdrop, sizes that keep proportions, presets, and named colours that land."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine import Editor
from engine.classic.fonts import find_font
from engine.plan import Box, EditPlan, Recolor
from tests.classic_images import line_with, ocr_texts
from tests.conftest import skimage_photo
from tests.product_shots import BACKDROP, BODY, HANDLE, mug_shot


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


def _labelled(text: str, xy: tuple[int, int]) -> Image.Image:
    """The coffee photo (600x400) with a dark label holding ``text`` at ``xy``."""
    image = skimage_photo("coffee")
    draw = ImageDraw.Draw(image)
    font = find_font(text).at(30)
    x0, y0, x1, y1 = draw.textbbox(xy, text, font=font)
    draw.rectangle((x0 - 8, y0 - 6, x1 + 8, y1 + 6), fill=(20, 20, 20))
    draw.text(xy, text, font=font, fill=(255, 255, 255))
    return image


def test_square_crop_keeps_a_label_near_the_edge_whole(editor: Editor) -> None:
    before = _labelled("SALE 50%", (14, 20))  # a centred square would cut it in half
    result = editor.edit(image=before, prompt="crop to square")
    assert result.image.size == (400, 400)
    assert "SALE50%" in "".join(ocr_texts(result.image)).replace(" ", "")
    assert not result.report.warnings


def test_a_crop_that_must_cut_text_says_so_in_the_users_language(editor: Editor) -> None:
    before = _labelled("NEW", (14, 20))
    draw = ImageDraw.Draw(before)
    draw.text((520, 340), "HOT", font=find_font("HOT").at(30), fill=(255, 255, 0))
    result = editor.edit(image=before, prompt="裁剪成1:1")
    assert result.image.size == (400, 400)
    assert any("裁剪成1:1时不得不切掉文字" in warning for warning in result.report.warnings)


def test_crop_keeps_the_product_whole() -> None:
    editor = Editor(engine="classic")
    wide = Image.new("RGB", (300, 160), BACKDROP)
    wide.paste(mug_shot(), (0, 0))  # the mug at the far left of a wide shot
    after = editor.edit(image=wide, prompt="crop to 1:1").image
    assert after.size == (160, 160)

    def red(image: Image.Image) -> int:
        pixels = np.asarray(image).astype(int)
        return int(np.count_nonzero(np.abs(pixels - (200, 30, 40)).max(axis=2) <= 3))

    assert red(after) == red(wide)  # every pixel of the mug, its thin handle too, is still there


def test_pad_to_square_with_white_or_the_backdrop(editor: Editor) -> None:
    padded = editor.edit(image=skimage_photo("coffee"), prompt="补白成正方形").image
    assert padded.size == (600, 600)
    assert np.asarray(padded)[:90].min() >= 254 and np.asarray(padded)[-90:].min() >= 254
    wide = Image.new("RGB", (200, 160), BACKDROP)
    wide.paste(mug_shot(), (20, 0))
    backdrop = editor.edit(image=wide, prompt="pad to 1:1").image
    assert backdrop.size == (200, 200)
    assert np.abs(np.asarray(backdrop)[5, 100].astype(int) - BACKDROP).max() <= 3
    cut = editor.edit(image=mug_shot(), prompt="去掉背景，补边成16:9").image
    assert cut.mode == "RGBA" and cut.size == (284, 160)
    assert np.asarray(cut)[80, 5, 3] == 0  # the new margin of a cut-out is transparent too


def test_resize_keeps_proportions_unless_stretch_is_said(editor: Editor) -> None:
    photo = skimage_photo("coffee")  # 3:2
    kept = editor.edit(image=photo, prompt="resize to 300x300")
    assert kept.image.size == (300, 200)
    assert any("Kept the picture's proportions" in w for w in kept.report.warnings)
    zh = editor.edit(image=photo, prompt="调整为300x300")
    assert any("保持了原图比例" in w for w in zh.report.warnings)
    assert editor.edit(image=photo, prompt="stretch to 300x300").image.size == (300, 300)


def test_purpose_presets(editor: Editor) -> None:
    taobao = editor.edit(image=skimage_photo("coffee"), prompt="裁剪成1:1，用于淘宝主图")
    assert taobao.image.size == (800, 800) and taobao.report.plan["purpose"] == "taobao"
    amazon = editor.edit(image=mug_shot(), prompt="for an Amazon listing").image
    assert amazon.size == (2000, 2000)
    assert np.asarray(amazon)[20, 20].min() >= 250  # the backdrop made pure white
    x, y = round(BODY[0] * 12.5), round(BODY[1] * 12.5)
    assert np.abs(np.asarray(amazon)[y, x].astype(int) - (200, 30, 40)).max() <= 6


def _hsv(rgb: np.ndarray) -> tuple[float, float, float]:
    h, s, v = colorsys.rgb_to_hsv(*(float(c) / 255 for c in rgb))
    return h * 360, s, v


def test_recolour_the_only_object_by_name(editor: Editor) -> None:
    result = editor.edit(image=mug_shot(), prompt="把杯子换成宝蓝色")
    after = np.asarray(result.image)
    for point in (BODY, HANDLE):
        hue, saturation, _ = _hsv(after[point[1], point[0]])
        assert abs(hue - 225) < 12 and saturation > 0.5, point
    assert np.abs(after[5, 5].astype(int) - BACKDROP).max() <= 4  # the backdrop untouched


def test_neon_is_a_real_neon(editor: Editor) -> None:
    before = skimage_photo("astronaut")
    ImageDraw.Draw(before).rectangle((20, 20, 100, 100), fill=(150, 30, 30))
    after = np.asarray(editor.edit(image=before, prompt="把左上角的红色换成荧光绿").image)
    red, green, blue = after[60, 60].astype(int)
    assert green > 220 and red < 110 and blue < 80  # bright, saturated green, not a dull one


def test_recolour_a_black_badge_by_its_text(editor: Editor) -> None:
    before = skimage_photo("astronaut")
    draw = ImageDraw.Draw(before)
    draw.rectangle((330, 20, 500, 80), fill=(15, 15, 15))
    draw.text((345, 30), "新品上市", font=find_font("新品上市").at(36), fill=(255, 255, 255))
    result = editor.edit(image=before, prompt="把右上角的'新品上市'标签改成红色")
    after = np.asarray(result.image).astype(int)
    panel = after[24, 334]
    assert panel[0] > 150 and panel[1] < 80 and panel[2] < 80, panel  # the badge is red now
    assert "新品上市" in line_with(result.image, "新品上市").text  # its text still reads
    assert result.report.changed_area_ratio > 0.01


def test_recolour_a_badge_by_its_entity_box(editor: Editor) -> None:
    """A badge the tool added is known by its box: recolouring it needs no colour name."""
    before = skimage_photo("astronaut")
    ImageDraw.Draw(before).rectangle((330, 20, 500, 80), fill=(15, 15, 15))
    box = Box(x0=325 / 512, y0=15 / 512, x1=505 / 512, y1=85 / 512)
    plan = EditPlan(instruction="把它改成红色", operations=[Recolor(to_color="red", box=box)])
    after = np.asarray(editor.edit(image=before, prompt="把它改成红色", plan=plan).image).astype(int)
    assert after[50, 400, 0] > 150 and after[50, 400, 1:].max() < 80


def test_a_vertical_crop_of_a_portrait_keeps_the_head(editor: Editor) -> None:
    photo = skimage_photo("astronaut")  # 512x512, her head at the top
    result = editor.edit(image=photo, prompt="make it warmer and crop to 4:3")
    assert result.image.size == (512, 384)
    assert [op["op"] for op in result.report.plan["operations"]] == ["adjust", "crop"]
    assert result.report.parameters["1.crop.crop_window"] == [0, 0, 512, 384]
