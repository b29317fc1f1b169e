"""Honest edits on the classic engine, as a user checks them: an edit does every part of what was
asked or says which part it could not do (in the instruction's language), it never changes what
it was not asked to touch, and a picture that did not change is never a success.

Most rows run in-process through ``Editor.edit`` (the path every adapter takes); a few run over
real HTTP (``POST /v1/edits``) and through the session-edit use case (``SessionTools``)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine import Editor
from engine.samples import product_shot, sample_photo, watermarked, with_text
from imgedit.config import get_settings
from imgedit.errors import ImgEditError
from sessions import SessionStore
from tests.classic_images import ocr_texts
from tests.server_harness import LiveServer, png_bytes, server_settings, wait_for_job
from tools import SessionTools, ToolContext

_CJK = re.compile(r"[\u3400-\u9fff]")
#: (x0, y0, x1, y1) in fractions of the picture.
Area = tuple[float, float, float, float]
TOP_RIGHT: Area = (2 / 3, 0.0, 1.0, 1 / 3)
BOTTOM: Area = (0.0, 2 / 3, 1.0, 1.0)
BOTTOM_LEFT_HALF: Area = (0.0, 0.5, 0.5, 1.0)
RIGHT: Area = (2 / 3, 0.0, 1.0, 1.0)
UNSUPPORTED = "unsupported_operation"
MUG_BODY: Area = (0.32, 0.3, 0.62, 0.72)  # inside the mug of ``product_shot``, away from its edges


def _photo(name: str, width: int, height: int) -> Image.Image:
    return sample_photo(name).resize((width, height), Image.Resampling.LANCZOS)


@cache
def picture(name: str) -> Image.Image:
    """The pictures of the table: small, so the whole module stays quick."""
    if name == "mug":
        return product_shot(160)
    if name == "mug_text":  # a product shot with dark 'SALE' in the bottom-left corner
        return with_text(product_shot(200), "SALE", (8, 168), 22, (20, 20, 20))
    if name == "marked":  # a brick texture with a semi-transparent 'SAMPLE' watermark at the bottom
        return watermarked("brick", 192)[0]
    if name == "clean":
        return watermarked("brick", 192)[1]
    if name == "two_blue":  # two separate blue things on a light wall
        image = Image.new("RGB", (180, 120), (226, 226, 220))
        draw = ImageDraw.Draw(image)
        draw.rectangle((15, 30, 55, 90), fill=(30, 60, 200))
        draw.rectangle((125, 30, 165, 90), fill=(30, 60, 200))
        return image
    if name == "mug_badge":  # a green 'NEW' badge in the top-right corner of the product shot
        image = product_shot(160)
        ImageDraw.Draw(image).rectangle((112, 8, 152, 30), fill=(40, 140, 60))
        return with_text(image, "NEW", (118, 11), 14)
    if name == "cut_out":  # the product shot already cut out (transparent backdrop)
        return Editor(engine="classic").edit(image=product_shot(160), prompt="remove the background").image
    if name == "ready":  # already what Taobao asks for: square, 800x800
        return product_shot(800)
    sizes = {"cat": (180, 120), "astronaut": (160, 160), "coffee": (192, 128), "rocket": (96, 144)}
    return _photo({"cat": "chelsea"}.get(name, name), *sizes[name])


@dataclass(frozen=True)
class Row:
    """One instruction on one picture and what the user must see.

    Done: ``done`` lists the operations carried out, in order; the picture changed; pixels outside
    ``within`` (when given) and inside ``keep`` (when given) are exactly as they were; ``warns``
    are words the report's warnings must contain (a guess the user should check).
    Refused: ``code`` is the error; ``names`` are words the answer must contain (the part that
    could not be done, the parts not applied with it), in the instruction's language."""

    picture: str
    instruction: str
    done: tuple[str, ...] = ()
    code: str = ""
    names: tuple[str, ...] = ()
    within: Area | None = None
    keep: Area | None = None
    size: tuple[int, int] | None = None
    warns: tuple[str, ...] = ()


ROWS = [
    # -- several parts: all done, or the one that cannot be done named with the rest ----------
    Row("mug_text", "把背景换成白色并去掉左下角的水印", done=("background", "text_remove"), keep=MUG_BODY),
    Row(
        "coffee",
        "make it brighter, crop it to a square and add the text NEW in the top right",
        done=("adjust", "crop", "text_add"),
        size=(128, 128),
    ),
    Row("mug_text", "把'SALE'换成'NEW'并把背景换成白色", done=("text_replace", "background"), keep=MUG_BODY),
    Row("coffee", "裁剪成16:9并提亮", done=("crop", "adjust"), size=(192, 108)),
    Row("cat", "缩小一半并水平翻转", done=("resize", "flip"), size=(90, 60)),
    Row(
        "mug",
        "make it warmer and remove the watermark",
        code="bad_input",
        names=("'remove the watermark'", "'make it warmer'", "not applied"),
    ),
    Row("clean", "提亮一点并去掉水印", code="bad_input", names=("“去掉水印”", "“提亮一点”", "没有应用")),
    Row("mug", "提亮一点并美化一下", code="needs_clarification", names=("“美化一下”", "没有执行")),
    Row("mug", "make it brighter and make it pop", code="needs_clarification", names=("'make it pop'",)),
    Row("mug_text", "去掉水印、logo和价签", code=UNSUPPORTED, names=("“去掉logo”",)),
    Row("mug", "make the background white and the mug blue", done=("background", "recolor")),
    Row("mug", "add a NEW badge", done=("text_add",)),
    Row("mug", "加一个新品标签", code="needs_clarification", names=("引号",)),
    Row("cat", "提亮一点，对比度也加一点", done=("adjust", "adjust")),
    # -- what the classic engine cannot do, named -------------------------------------------
    Row(
        "astronaut",
        "把模特的裙子换成长袖衬衫",
        code=UNSUPPORTED,
        names=("“把模特的裙子换成长袖衬衫”", "qwen"),
    ),
    Row(
        "cat",
        "make the cat smile",
        code=UNSUPPORTED,
        names=("'make the cat smile'", "generative"),
    ),
    Row(
        "cat",
        "make it warmer and make the cat smile",
        code=UNSUPPORTED,
        names=("'make the cat smile'", "'make it warmer'", "not applied"),
    ),
    Row("cat", "提亮一点，并让猫笑起来", code=UNSUPPORTED, names=("“让猫笑起来”", "“提亮一点”")),
    Row("cat", "把背景换成白色", code=UNSUPPORTED, names=("背景没有修改",)),
    Row("cat", "remove the man", code=UNSUPPORTED, names=("'remove the man'", "colour or place")),
    Row("mug", "把杯子去掉", code=UNSUPPORTED, names=("“把杯子去掉”", "颜色或位置")),
    Row("cat", "remove it", code="needs_clarification", names=("what to remove",)),
    Row("two_blue", "make the blue shirt green", code=UNSUPPORTED, names=("2", "'shirt'", "place")),
    # -- things absent from the picture ------------------------------------------------------
    Row("mug", "replace 'SALE' with 'NEW'", code="bad_input", names=("'SALE'",)),
    Row("mug", "把'限时优惠'换成'买一送一'", code="bad_input", names=("“限时优惠”",)),
    Row("clean", "remove the watermark", code="bad_input", names=("No text",)),
    Row("clean", "去掉水印", code="bad_input", names=("没有找到",)),
    Row("cat", "make the red car green", code="bad_input", names=("red",)),
    Row("cat", "把红色的汽车换成绿色", code="bad_input", names=("红色",)),
    Row("mug", "make the green mug blue", code="bad_input", names=("green",)),
    Row("mug", "remove the red object on the right", code="bad_input", names=("red",)),
    Row("mug", "把左上角的红色物体去掉", code="bad_input", names=("红色",)),
    Row("mug_text", "删除文字'NEW'", code="bad_input", names=("“NEW”", "“SALE”")),
    Row("marked", "remove the watermark in the top right corner", code="bad_input", names=("that part",)),
    # -- nothing to change is not a success ----------------------------------------------------
    Row("mug", "crop to square", code="nothing_changed", names=("'crop to square'", "160x160")),
    Row("mug", "补白成正方形", code="nothing_changed", names=("“补白成正方形”", "本来就是")),
    Row("ready", "用于淘宝主图", code="nothing_changed", names=("“用于淘宝主图”", "没有改变")),
    Row("cut_out", "去掉背景，做成透明背景", code="nothing_changed", names=("本来就是透明的",)),
    # -- vague or empty ------------------------------------------------------------------------
    Row("cat", "make it better", code="needs_clarification", names=("too vague",)),
    Row("cat", "改一下", code="needs_clarification", names=("太笼统",)),
    Row("cat", "   ", code="bad_input", names=("empty",)),
    Row("cat", "add the text", code="needs_clarification", names=("which text",)),
    Row("cat", "你好", code="needs_clarification", names=("“你好”",)),
    # -- places: only the named part changes -----------------------------------------------------
    Row("marked", "remove the watermark in the bottom-left corner", done=("text_remove",), within=BOTTOM),
    Row("marked", "去掉左下角的水印", done=("text_remove",), within=BOTTOM),
    Row("mug", "add a 'NEW' badge in the top right", done=("text_add",), within=TOP_RIGHT),
    Row("mug", "在右上角加上文字新品", done=("text_add",), within=TOP_RIGHT),
    Row("mug", "add the text SALE at the bottom", done=("text_add",), within=BOTTOM),
    Row("mug_text", "remove the text 'SALE'", done=("text_remove",), within=BOTTOM_LEFT_HALF),
    Row("mug", "把红色的杯子换成蓝色", done=("recolor",), within=(0.25, 0.2, 0.82, 0.8)),
    Row("two_blue", "把右边的蓝色换成红色", done=("recolor",), within=RIGHT),
    Row("two_blue", "make the blue shirt on the right green", done=("recolor",), within=RIGHT),
    Row("mug_text", "把底部的文字改成红色", done=("recolor",), within=BOTTOM_LEFT_HALF),
    Row("mug_text", "make the text 'SALE' red", done=("recolor",), within=BOTTOM_LEFT_HALF),
    Row("mug_text", "make the 'SALE' badge red", code="bad_input", names=("'SALE'", "badge")),
    Row("mug", "add a '🎉' badge", code="bad_input", names=("🎉",)),
    Row(
        "mug_text",
        "replace 'SAIL' with 'NEW'",
        done=("text_replace",),
        within=BOTTOM_LEFT_HALF,
        warns=("'SALE'",),
    ),
    Row("mug_badge", "把右上角的标签改成红色", done=("recolor",), within=TOP_RIGHT),
    Row("cat", "make the logo in the top left red", code="bad_input", names=("'logo'",)),
    Row("mug", "make the mug on the right blue", code="bad_input", names=("'mug'",)),
    Row("cat", "remove the thing in the middle", code="bad_input", names=("part of something larger",)),
    Row("mug_text", "去掉左下角的东西", done=("remove",), within=BOTTOM_LEFT_HALF),
    # -- whole-picture edits ---------------------------------------------------------------------
    Row("mug", "remove the background", done=("background",), keep=MUG_BODY),
    Row("rocket", "rotate 90 degrees clockwise", done=("rotate",), size=(144, 96)),
    Row("coffee", "make it black and white", done=("theme",)),
]


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.int16)


def _box(area: Area, size: tuple[int, int]) -> tuple[int, int, int, int]:
    width, height = size
    return round(area[0] * width), round(area[1] * height), round(area[2] * width), round(area[3] * height)


def assert_refusal_speaks(instruction: str, message: str, names: tuple[str, ...]) -> None:
    """The answer is in the instruction's language and names what it must."""
    chinese = bool(_CJK.search(re.sub(r"'[^']*'", "", instruction)))
    unquoted = re.sub(r"'[^']*'|“[^”]*”", "", message)
    assert bool(_CJK.search(unquoted)) == chinese, f"answer not in the instruction's language: {message}"
    for name in names:
        assert name in message, f"{name!r} not named in: {message}"


def assert_done(row: Row, before: Image.Image, after: Image.Image, kinds: list[str]) -> None:
    assert kinds == list(row.done), f"parts carried out {kinds}, asked {row.done}"
    if row.size is not None:
        assert after.size == row.size
    if after.size != before.size:
        return
    old, new = _pixels(before), _pixels(after)
    changed = np.abs(old - new).max(axis=2) > 0
    assert changed.any() or after.mode != before.mode, "a success that changed nothing"
    if row.within is not None:
        x0, y0, x1, y1 = _box(row.within, before.size)
        outside = changed.copy()
        outside[y0:y1, x0:x1] = False
        assert not outside.any(), f"pixels changed outside {row.within}: {np.argwhere(outside)[:3]}"
    if row.keep is not None:
        x0, y0, x1, y1 = _box(row.keep, before.size)
        assert not changed[y0:y1, x0:x1].any(), f"{row.keep} was not to be touched"


@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{row.picture}:{row.instruction.strip() or 'blank'}" for row in ROWS]
)
def test_an_edit_does_all_it_was_asked_or_says_what_it_could_not(editor: Editor, row: Row) -> None:
    before = picture(row.picture)
    if not row.done:
        with pytest.raises(ImgEditError) as refused:
            editor.edit(image=before, prompt=row.instruction)
        assert refused.value.code == row.code, refused.value.message
        assert_refusal_speaks(row.instruction, refused.value.message, row.names)
        return
    result = editor.edit(image=before, prompt=row.instruction)
    kinds = [op["op"] for op in result.report.plan["operations"]]
    assert_done(row, before, result.image, kinds)
    for word in row.warns:
        assert any(word in warning for warning in result.report.warnings), result.report.warnings


def test_a_local_edit_over_the_area_limit_is_refused_in_the_users_language(editor: Editor) -> None:
    for instruction, words in (
        ("把红色的杯子换成蓝色", "超过了局部修改允许的10%"),
        ("make the red mug blue", "10% allowed"),
    ):
        with pytest.raises(ImgEditError) as refused:
            editor.edit(image=picture("mug"), prompt=instruction, max_edit_area=0.1)
        assert refused.value.code == "edit_area_exceeded" and words in refused.value.message


def test_a_cut_out_given_a_white_background_is_white_where_it_was_transparent(editor: Editor) -> None:
    cut = picture("cut_out")
    after = editor.edit(image=cut, prompt="把背景换成白色").image
    transparent = np.asarray(cut.getchannel("A")) == 0
    assert after.mode == "RGB" and transparent.any()
    assert np.all(np.asarray(after)[transparent] == 255)
    x0, y0, x1, y1 = _box(MUG_BODY, cut.size)  # the product as it was
    assert np.array_equal(np.asarray(after)[y0:y1, x0:x1], np.asarray(cut.convert("RGB"))[y0:y1, x0:x1])


def test_a_text_added_without_quotes_is_written_where_asked(editor: Editor) -> None:
    after = editor.edit(image=picture("coffee"), prompt=ROWS[1].instruction).image
    assert after.size == (128, 128) and any("NEW" in text for text in ocr_texts(after))


# -- over HTTP: the same answers, as a client sees them -------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(server_settings(tmp_path_factory.mktemp("honest-home"))) as server:
        yield server


def _post(live: LiveServer, name: str, instruction: str) -> tuple[int, dict[str, object], bytes]:
    """``POST /v1/edits`` and wait: (status of the POST, the finished job or the 4xx body, result)."""
    with live.client(live.key()) as client:
        files = {"file": ("picture.png", png_bytes(picture(name)), "image/png")}
        posted = client.post("/v1/edits", files=files, data={"instruction": instruction})
        if posted.status_code != 202:
            return posted.status_code, posted.json(), b""
        job = wait_for_job(client, posted.json()["job_id"])
        result = client.get(str(job["result_url"])).content if job["status"] == "done" else b""
        return posted.status_code, job, result


def test_over_http_a_part_classic_cannot_do_is_refused_before_anything_runs(live: LiveServer) -> None:
    status, body, _ = _post(live, "cat", "提亮一点，并让猫笑起来")
    assert status == 422 and body["code"] == "unsupported_operation"
    assert_refusal_speaks("提亮一点，并让猫笑起来", str(body["message"]), ("“让猫笑起来”", "“提亮一点”"))


def test_over_http_a_missing_part_fails_the_job_naming_it(live: LiveServer) -> None:
    status, job, _ = _post(live, "mug", "make it warmer and remove the watermark")
    error = job["error"]
    assert status == 202 and job["status"] == "failed" and isinstance(error, dict)
    assert error["code"] == "bad_input"
    assert "'remove the watermark'" in error["message"] and "'make it warmer'" in error["message"]


def test_over_http_nothing_to_change_is_not_a_success(live: LiveServer) -> None:
    status, job, _ = _post(live, "mug", "裁剪成正方形")
    error = job["error"]
    assert status == 202 and job["status"] == "failed" and isinstance(error, dict)
    assert error["code"] == "nothing_changed" and "本来就是" in error["message"]


def test_over_http_both_parts_are_done_and_the_product_is_untouched(live: LiveServer) -> None:
    status, job, result = _post(live, "mug_text", "把背景换成白色并去掉左下角的水印")
    assert status == 202 and job["status"] == "done", job
    before, after = picture("mug_text"), Image.open(io.BytesIO(result))
    x0, y0, x1, y1 = _box(MUG_BODY, before.size)
    assert np.array_equal(_pixels(before)[y0:y1, x0:x1], _pixels(after)[y0:y1, x0:x1])
    assert np.abs(_pixels(after)[2:20, 2:20] - 255).max() <= 2  # the backdrop is white
    assert not any("SALE" in text for text in ocr_texts(after))


# -- the session-edit use case: what the tool reports is what was done ---------------------------


def _session_tools(classic: Editor) -> tuple[SessionTools, SessionStore, str]:
    store = SessionStore(settings=get_settings())
    session = store.create_session(tenant="acme")
    image, _ = store.add_image(session.id, png_bytes(picture("mug")))
    return SessionTools(ToolContext(session_id=session.id, store=store, editor=classic)), store, image.id


def test_a_session_edit_reports_each_part_done_in_the_users_language(editor: Editor) -> None:
    tools, _, _ = _session_tools(editor)
    outcome = tools.edit_image("提亮一点并在右上角加上文字新品")
    assert outcome.ok and outcome.version == 1
    assert "已完成" in outcome.message and "“提亮一点”" in outcome.message
    assert "“在右上角加上文字新品”" in outcome.message


def test_a_refused_session_edit_names_the_part_and_makes_no_version(editor: Editor) -> None:
    tools, store, image_id = _session_tools(editor)
    outcome = tools.edit_image("make it warmer and remove the watermark")
    assert not outcome.ok and outcome.error is not None and outcome.error["code"] == "bad_input"
    assert "'remove the watermark'" in outcome.message and "'make it warmer'" in outcome.message
    assert [version.number for version in store.versions(image_id)] == [0]
