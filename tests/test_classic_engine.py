"""The classic engine as users meet it: instructions in both languages, honest refusals, clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import ImageDraw

from engine import Editor
from engine.classic import ClassicEngine
from engine.classic.regions import place_rect
from engine.imageio import load_image
from engine.plan import Background, EditPlan, Place
from engine.types import CancelToken
from imgedit.errors import BadInputError, EditCancelledError, UnsupportedOperationError
from tests.classic_images import changed_rect, hue_degrees, line_with, ocr_texts, with_text
from tests.conftest import skimage_photo


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


def test_capabilities_are_exactly_the_implemented_operations() -> None:
    engine = ClassicEngine()
    assert engine.capabilities == frozenset(engine.handlers)
    assert engine.capabilities == {
        "adjust", "theme", "text_replace", "text_remove", "text_add", "recolor", "remove",
        "background", "crop", "pad", "resize", "rotate", "flip",
    }  # fmt: skip


def test_generative_edits_are_refused_with_the_engine_they_need(editor: Editor) -> None:
    with pytest.raises(UnsupportedOperationError, match="生成式模型") as caught:
        editor.edit(image=skimage_photo("astronaut"), prompt="给她戴上一顶红色的帽子")
    assert "IMGEDIT_QWEN_MODEL" not in caught.value.message  # settings are for the operator...
    assert caught.value.hint and "qwen" in caught.value.hint  # ...in the hint
    with pytest.raises(UnsupportedOperationError, match="generative"):
        editor.edit(image=skimage_photo("astronaut"), prompt="put a red hat on her")


def test_background_replace_needs_qwen(editor: Editor) -> None:
    plan = EditPlan(instruction="beach", operations=[Background(mode="replace", description="a beach")])
    with pytest.raises(UnsupportedOperationError, match=r"background.*qwen"):
        editor.edit(image=skimage_photo("chelsea"), prompt="beach", plan=plan)


def test_text_replace_from_a_chinese_instruction(editor: Editor) -> None:
    before = with_text("astronaut", "限时优惠", (24, 20), 52, fill=(255, 230, 0))
    result = editor.edit(image=before, prompt="把'限时优惠'换成'Buy One Get One Free'")
    assert result.report.plan["operations"][0]["op"] == "text_replace"
    found = " ".join(ocr_texts(result.image)).replace(" ", "").lower()
    assert "buyone" in found and "限时优惠" not in found
    timings = result.report.timings
    assert {
        "engine.0.text_replace.ocr",
        "engine.0.text_replace.inpaint",
        "engine.0.text_replace.render",
    } <= set(timings)


def test_recolor_from_an_english_instruction(editor: Editor) -> None:
    before = skimage_photo("coffee")
    ImageDraw.Draw(before).rectangle((30, 30, 150, 110), fill=(210, 30, 30))
    after = editor.edit(image=before, prompt="make the red in the top left blue").image
    assert np.all(np.abs(hue_degrees(np.asarray(after)[40:100, 40:140]) - 220) < 20)
    changed = changed_rect(before, after)
    assert changed is not None and place_rect(Place.TOP_LEFT, 600, 400).intersect(changed) == changed


def test_badge_from_a_chinese_instruction(editor: Editor) -> None:
    before = skimage_photo("astronaut")
    after = editor.edit(image=before, prompt="在右上角加一个'新品上市'的标签").image
    line = line_with(after, "新品上市")
    assert place_rect(Place.TOP_RIGHT, 512, 512).contains_point(line.rect.x0, line.rect.y0)


def test_theme_and_geometry_instructions(editor: Editor) -> None:
    photo = skimage_photo("coffee")
    themed = editor.edit(image=photo, prompt="情人节主题")
    assert themed.report.changed_area_ratio > 0.5
    assert editor.edit(image=photo, prompt="裁剪成1:1").image.size == (400, 400)
    assert editor.edit(image=photo, prompt="旋转90度").image.size == (400, 600)


def test_progress_and_cancellation(editor: Editor) -> None:
    steps: list[tuple[int, int]] = []
    editor.edit(
        image=skimage_photo("coffee"),
        prompt="水平翻转然后旋转90度",
        progress=lambda d, t: steps.append((d, t)),
    )
    assert steps[-1][0] == steps[-1][1] and len(steps) == steps[-1][1]
    token = CancelToken()
    token.cancel()
    with pytest.raises(EditCancelledError):
        editor.edit(image=skimage_photo("coffee"), prompt="情人节主题", cancel=token)


def test_corrupt_images_get_clear_errors() -> None:
    buffer = io.BytesIO()
    skimage_photo("coffee").save(buffer, "PNG")
    truncated = buffer.getvalue()[:2000]
    with pytest.raises(BadInputError, match="not a readable PNG, JPEG or WebP"):
        load_image(truncated)
    with pytest.raises(BadInputError, match="not a readable"):
        load_image(b"this is not an image at all")


def test_text_in_a_missing_font_script_is_a_clear_error(editor: Editor) -> None:
    before = with_text("astronaut", "SALE", (24, 20), 52, fill=(255, 230, 0))
    plan_text = "把'SALE'换成'\U0001d11e\U0001d11e'"  # musical symbols: no installed font draws them
    # The user's to change (bad_input, 4xx, in their language), not a failure of the service.
    with pytest.raises(BadInputError, match="无法绘制的字符（𝄞）"):
        editor.edit(image=before, prompt=plan_text)
