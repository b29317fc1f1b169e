"""Text editing on real photographs: OCR finds the new text and not the old, nothing else changes."""

from __future__ import annotations

import pytest
from PIL import Image

from engine import Editor
from engine.plan import EditPlan, Place, TextRemove, TextReplace
from imgedit.errors import BadInputError
from tests.classic_images import changed_rect, line_with, ocr_texts, psnr_outside, with_text

MARGIN = 12  # pixels around the OCR box that an edit may touch (mask dilation, anti-aliasing)


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


def _edit(editor: Editor, image: Image.Image, *ops) -> Image.Image:
    plan = EditPlan(instruction="test", operations=list(ops))
    return editor.edit(image=image, prompt="test", plan=plan).image


def _assert_only_inside(before: Image.Image, after: Image.Image, box_text: str) -> None:
    box = line_with(before, box_text).rect.padded(MARGIN, *before.size)
    changed = changed_rect(before, after)
    assert changed is not None, "the image did not change"
    assert box.x0 <= changed.x0 and box.y0 <= changed.y0, (changed, box)
    assert changed.x1 <= box.x1 and changed.y1 <= box.y1, (changed, box)
    assert psnr_outside(before, after, box) >= 40.0


def test_replace_chinese_with_english_on_a_photo(editor: Editor) -> None:
    before = with_text("astronaut", "限时优惠", (24, 20), 52, fill=(255, 230, 0))
    after = _edit(editor, before, TextReplace(old="限时优惠", new="Buy One Get One Free"))
    found = " ".join(ocr_texts(after)).replace(" ", "").lower()
    assert "buyone" in found and "free" in found
    assert "限时优惠" not in found
    _assert_only_inside(before, after, "限时优惠")


def test_replace_english_with_chinese_on_a_banner(editor: Editor) -> None:
    before = with_text("coffee", "SUMMER SALE", (170, 300), 40, fill=(255, 255, 255), panel=(200, 30, 40))
    after = _edit(editor, before, TextReplace(old="summer sale", new="新品上市"))
    found = "".join(ocr_texts(after)).replace(" ", "")
    assert "新品上市" in found
    assert "SUMMER" not in found.upper()
    _assert_only_inside(before, after, "SUMMER SALE")
    # On a flat panel the old text is filled with the panel colour and the new text keeps the old colour.
    panel_pixel = after.getpixel((before.size[0] - 1, before.size[1] - 1))
    assert panel_pixel == before.getpixel((before.size[0] - 1, before.size[1] - 1))


def test_partial_and_approximate_quotes_are_found(editor: Editor) -> None:
    before = with_text(
        "chelsea", "Only 99 yuan today", (20, 20), 34, fill=(255, 255, 255), panel=(20, 20, 20)
    )
    # Full-width digits and different case still match the part "99 yuan".
    after = _edit(editor, before, TextReplace(old="９９ YUAN", new="49 yuan"))
    found = " ".join(ocr_texts(after)).replace(" ", "").lower()
    assert "49yuan" in found and "99" not in found
    assert "only" in found and "today" in found
    _assert_only_inside(before, after, "Only 99 yuan today")


def test_remove_text_by_content(editor: Editor) -> None:
    before = with_text("astronaut", "SAMPLE", (300, 440), 44, fill=(255, 255, 255))
    after = _edit(editor, before, TextRemove(text="sample"))
    assert not any("SAMPLE" in text.upper() for text in ocr_texts(after))
    _assert_only_inside(before, after, "SAMPLE")


def test_remove_watermark_by_place(editor: Editor) -> None:
    before = with_text("coffee", "@shop2024", (430, 350), 30, fill=(235, 235, 235))
    after = _edit(editor, before, TextRemove(place=Place.BOTTOM_RIGHT, watermark=True))
    assert not any("shop" in text.lower() for text in ocr_texts(after))
    _assert_only_inside(before, after, "@shop2024")


def test_text_that_is_not_there_is_a_clear_error(editor: Editor) -> None:
    before = with_text("astronaut", "限时优惠", (24, 20), 52, fill=(255, 230, 0))
    with pytest.raises(BadInputError, match=r"Could not find the text 'Black Friday'.*限时优惠"):
        _edit(editor, before, TextReplace(old="Black Friday", new="Cyber Monday"))


def test_watermark_removal_takes_the_symbols_ocr_leaves_out(editor: Editor) -> None:
    """RapidOCR boxes "SAMPLE" but not the "©" before it; removing the watermark by place must
    take the whole mark, not leave a lone "©" in the corner."""
    before = with_text("coffee", "© SAMPLE", (380, 340), 30, fill=(240, 240, 240))
    word = line_with(before, "SAMPLE").rect
    symbol_zone = (380, word.y0, word.x0 - 4, word.y1)  # left of the OCR box: where "©" was drawn
    assert before.crop(symbol_zone).convert("L").getextrema()[1] > 200  # the © is there, bright
    after = _edit(editor, before, TextRemove(place=Place.BOTTOM_RIGHT, watermark=True))
    assert "SAMPLE" not in "".join(ocr_texts(after)).upper()
    assert after.crop(symbol_zone).convert("L").getextrema()[1] < 200  # and now it is gone
