"""The bilingual instruction parser: a table of instructions and the exact plan each must give,
plus the errors for unusable and vague instructions, and the optional LLM parser against a
scripted local OpenAI-compatible server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine import Editor
from engine.parsing import parse_instruction
from engine.parsing.clauses import split_clauses
from engine.parsing.colors import COLOR_RGB, parse_color
from engine.parsing.places import take_place
from engine.parsing.quotes import find_quotes
from engine.plan import (
    Adjust,
    Background,
    Box,
    Crop,
    Flip,
    Generative,
    Pad,
    Place,
    Recolor,
    Remove,
    Resize,
    Rotate,
    TextAdd,
    TextRemove,
    TextReplace,
    Theme,
)
from imgedit.config import Settings
from imgedit.errors import BadInputError, NeedsClarificationError, UnsupportedOperationError

THEME_SLUGS = [
    "business",
    "christmas",
    "cyberpunk",
    "minimalist",
    "monochrome",
    "retro",
    "spring-festival",
    "summer",
    "valentine",
]


def gen(text: str) -> Generative:
    return Generative(description=text)


# (instruction, expected operations in order, expected language)
CASES: list[tuple[str, list[Any], str]] = [
    # -- text replace, every quote style --
    (
        "把'限时优惠'换成'Buy One Get One Free'",
        [TextReplace(old="限时优惠", new="Buy One Get One Free")],
        "zh",
    ),
    ("把图中的“限时优惠”改成“买一送一”", [TextReplace(old="限时优惠", new="买一送一")], "zh"),
    ("把「新品」改成「热卖」", [TextReplace(old="新品", new="热卖")], "zh"),
    ("将‘原价’替换为‘特价’", [TextReplace(old="原价", new="特价")], "zh"),
    ("replace 'SALE' with 'NEW'", [TextReplace(old="SALE", new="NEW")], "en"),
    ("change the text “50% OFF” to “70% OFF”", [TextReplace(old="50% OFF", new="70% OFF")], "en"),
    (
        'replace "Summer Sale" with "Winter Sale" at the top',
        [TextReplace(old="Summer Sale", new="Winter Sale", place=Place.TOP)],
        "en",
    ),
    # -- text remove --
    ("去掉左下角的水印", [TextRemove(watermark=True, place=Place.BOTTOM_LEFT)], "zh"),
    (
        "remove the watermark in the bottom-left corner",
        [TextRemove(watermark=True, place=Place.BOTTOM_LEFT)],
        "en",
    ),
    ("删除文字'样品'", [TextRemove(text="样品")], "zh"),
    ("remove the text 'SAMPLE'", [TextRemove(text="SAMPLE")], "en"),
    ("remove the caption", [TextRemove()], "en"),
    ("把底部的文字删掉", [TextRemove(place=Place.BOTTOM)], "zh"),
    (
        "erase the watermark in the lower-right corner",
        [TextRemove(watermark=True, place=Place.BOTTOM_RIGHT)],
        "en",
    ),
    # -- text add --
    ("加一个'新品上市'的标签", [TextAdd(text="新品上市", style="badge")], "zh"),
    ("在右上角加上文字'限时'", [TextAdd(text="限时", style="label", place=Place.TOP_RIGHT)], "zh"),
    ("add a 'NEW' badge in the top right", [TextAdd(text="NEW", style="badge", place=Place.TOP_RIGHT)], "en"),
    ("add a red 'SALE' sticker at the bottom", [TextAdd(text="SALE", color="red", place=Place.BOTTOM)], "en"),
    (
        "add the text 'Salt and Pepper' in the middle",
        [TextAdd(text="Salt and Pepper", style="label", place=Place.CENTER)],
        "en",
    ),
    # -- recolour --
    ("把红色连衣裙换成蓝色", [Recolor(target="连衣裙", from_color="red", to_color="blue")], "zh"),
    ("给裙子换成红色", [Recolor(target="裙子", to_color="red")], "zh"),
    (
        "把背景中的绿色改成黄色",
        [Recolor(from_color="green", to_color="yellow", place=Place.BACKGROUND)],
        "zh",
    ),
    ("把车身颜色改成深蓝色", [Recolor(target="车身", to_color="dark blue")], "zh"),
    ("make the red car green", [Recolor(target="car", from_color="red", to_color="green")], "en"),
    ("change the color of the sofa to navy", [Recolor(target="sofa", to_color="navy")], "en"),
    ("paint the wall light blue", [Recolor(target="wall", to_color="light blue")], "en"),
    ("make the text 'SALE' red", [Recolor(target="text 'SALE'", to_color="red")], "en"),
    # -- remove --
    ("去掉右边的红色物体", [Remove(target="物体", color="red", place=Place.RIGHT)], "zh"),
    ("把左上角的logo去掉", [Remove(target="logo", place=Place.TOP_LEFT)], "mixed"),
    ("remove the red object on the left", [Remove(target="object", color="red", place=Place.LEFT)], "en"),
    ("erase the logo in the top left", [Remove(target="logo", place=Place.TOP_LEFT)], "en"),
    # -- background --
    ("把背景换成白色", [Background(mode="solid", color="white")], "zh"),
    ("背景虚化", [Background(mode="blur")], "zh"),
    ("去掉背景", [Background(mode="transparent")], "zh"),
    ("去掉背景（白底）", [Background(mode="solid", color="white")], "zh"),
    ("去掉背景(白底)", [Background(mode="solid", color="white")], "zh"),
    ("remove the white background", [Background(mode="transparent")], "en"),
    ("blur the background", [Background(mode="blur")], "en"),
    ("change the background to light gray", [Background(mode="solid", color="light gray")], "en"),
    ("give it a plain white background", [Background(mode="solid", color="white")], "en"),
    ("把背景换成海滩", [gen("把背景换成海滩")], "zh"),
    ("replace background with a beach scene", [gen("replace background with a beach scene")], "en"),
    # -- themes --
    ("情人节风格", [Theme(name="valentine")], "zh"),
    ("复古风", [Theme(name="retro")], "zh"),
    ("黑白照片效果", [Theme(name="monochrome")], "zh"),
    ("改成赛博朋克风格", [Theme(name="cyberpunk")], "zh"),
    ("做成春节主题", [Theme(name="spring-festival")], "zh"),
    ("make this Valentine's themed", [Theme(name="valentine")], "en"),
    ("apply the cyberpunk theme", [Theme(name="cyberpunk")], "en"),
    ("make it black and white", [Theme(name="monochrome")], "en"),
    ("give it a vintage look", [Theme(name="retro")], "en"),
    ("Christmas style", [Theme(name="christmas")], "en"),
    # -- global adjustments --
    ("提亮一点", [Adjust(brightness=0.25)], "zh"),
    ("增加对比度", [Adjust(contrast=0.5)], "zh"),
    ("暖一点", [Adjust(warmth=0.25)], "zh"),
    ("make it brighter", [Adjust(brightness=0.5)], "en"),
    ("much more contrast", [Adjust(contrast=0.8)], "en"),
    ("make it slightly cooler", [Adjust(warmth=-0.25)], "en"),
    ("desaturate", [Adjust(saturation=-0.5)], "en"),
    ("把饱和度降低一些", [Adjust(saturation=-0.25)], "zh"),
    # -- crop, resize, rotate, flip --
    ("裁剪成16:9", [Crop(aspect="16:9")], "zh"),
    ("裁成正方形", [Crop(aspect="1:1")], "zh"),
    ("crop to square", [Crop(aspect="1:1")], "en"),
    ("crop the top half", [Crop(box=Box(x0=0, y0=0, x1=1, y1=0.5))], "en"),
    ("只保留上半部分", [Crop(box=Box(x0=0, y0=0, x1=1, y1=0.5))], "zh"),
    ("keep the left half", [Crop(box=Box(x0=0, y0=0, x1=0.5, y1=1))], "en"),
    ("缩小一半", [Resize(scale=0.5)], "zh"),
    ("调整尺寸为1024×768", [Resize(width=1024, height=768)], "zh"),
    ("resize to 800x600", [Resize(width=800, height=600)], "en"),
    ("scale to 50%", [Resize(scale=0.5)], "en"),
    ("向左旋转90度", [Rotate(degrees=90)], "zh"),
    ("顺时针旋转90度", [Rotate(degrees=-90)], "zh"),
    ("旋转一百八十度", [Rotate(degrees=180)], "zh"),
    ("rotate 90 degrees clockwise", [Rotate(degrees=-90)], "en"),
    ("rotate 90 degrees counterclockwise", [Rotate(degrees=90)], "en"),
    ("旋转270度", [Rotate(degrees=90)], "zh"),
    ("rotate 90", [Rotate(degrees=-90)], "en"),
    ("水平翻转", [Flip(axis="horizontal")], "zh"),
    ("上下翻转", [Flip(axis="vertical")], "zh"),
    ("flip horizontally", [Flip(axis="horizontal")], "en"),
    ("mirror it", [Flip(axis="horizontal")], "en"),
    # -- generative: concrete edits only a generative model can make --
    ("把模特身上的红色连衣裙换成蓝色长袖衬衫", [gen("把模特身上的红色连衣裙换成蓝色长袖衬衫")], "zh"),
    ("换成蓝色长袖衬衫", [gen("换成蓝色长袖衬衫")], "zh"),
    ("在墙上挂一幅山水画", [gen("在墙上挂一幅山水画")], "zh"),
    ("add a cat on the sofa", [gen("add a cat on the sofa")], "en"),
    ("make the man smile", [gen("make the man smile")], "en"),
    ("add a christmas tree next to the door", [gen("add a christmas tree next to the door")], "en"),
    # -- compound instructions keep their order --
    (
        "去掉左下角的水印，并把背景换成白色",
        [
            TextRemove(watermark=True, place=Place.BOTTOM_LEFT),
            Background(mode="solid", color="white"),
        ],
        "zh",
    ),
    ("提亮一点；增加对比度", [Adjust(brightness=0.25), Adjust(contrast=0.5)], "zh"),
    ("先裁剪成正方形，然后水平翻转", [Crop(aspect="1:1"), Flip(axis="horizontal")], "zh"),
    (
        "把红色连衣裙换成蓝色，同时背景虚化",
        [
            Recolor(target="连衣裙", from_color="red", to_color="blue"),
            Background(mode="blur"),
        ],
        "zh",
    ),
    ("去掉水印并提亮", [TextRemove(watermark=True), Adjust(brightness=0.5)], "zh"),
    ("crop to square and then make it black and white", [Crop(aspect="1:1"), Theme(name="monochrome")], "en"),
    ("make it warmer and more saturated", [Adjust(warmth=0.5), Adjust(saturation=0.5)], "en"),
    (
        "replace 'Rock and Roll' with 'Jazz'; rotate 90 degrees clockwise",
        [
            TextReplace(old="Rock and Roll", new="Jazz"),
            Rotate(degrees=-90),
        ],
        "en",
    ),
    (
        "remove the watermark in the top right, add a 'NEW' badge and blur the background",
        [
            TextRemove(watermark=True, place=Place.TOP_RIGHT),
            TextAdd(text="NEW", style="badge"),
            Background(mode="blur"),
        ],
        "en",
    ),
]


def _dump(operations: list[Any]) -> list[dict[str, Any]]:
    return [op.model_dump(exclude={"source"}) for op in operations]


def test_the_table_is_large_and_balanced() -> None:
    chinese = sum(1 for _, _, language in CASES if language in ("zh", "mixed"))
    assert len(CASES) >= 60
    assert abs(chinese - (len(CASES) - chinese)) <= len(CASES) // 5
    assert sum(1 for _, ops, _ in CASES if len(ops) > 1) >= 8


@pytest.mark.parametrize(("instruction", "expected", "language"), CASES, ids=[c[0] for c in CASES])
def test_instruction_gives_plan(instruction: str, expected: list[Any], language: str) -> None:
    plan = parse_instruction(instruction)
    assert _dump(plan.operations) == _dump(expected)
    assert plan.language == language
    assert plan.instruction == instruction
    assert all(op.source and op.source in instruction for op in plan.operations)


VAGUE = [
    ("把一切都变好看", "zh"),
    ("改一下", "zh"),
    ("美化一下", "zh"),
    ("随便改改", "zh"),
    ("帮我把照片弄好看点", "zh"),
    ("make it better", "en"),
    ("make it pop", "en"),
    ("fix it", "en"),
    ("please improve the photo", "en"),
    ("make it look good", "en"),
]


@pytest.mark.parametrize(("instruction", "language"), VAGUE)
def test_vague_instructions_ask_for_clarification(instruction: str, language: str) -> None:
    with pytest.raises(NeedsClarificationError) as caught:
        parse_instruction(instruction)
    error = caught.value
    assert error.exit_code == 2 and error.http_status == 422
    joined = " | ".join(error.suggestions)
    if language == "zh":
        assert "提亮一点" in joined and "情人节风格" in joined and "赛博朋克风格" in joined
        assert "太笼统" in error.message
    else:
        assert "make it brighter" in joined and "apply the valentine theme" in joined
        assert "too vague" in error.message
    # Every suggestion is itself a concrete instruction the parser accepts.
    for suggestion in error.suggestions:
        assert parse_instruction(suggestion).operations


def test_vague_clause_in_a_compound_instruction_is_not_guessed_at() -> None:
    with pytest.raises(NeedsClarificationError):
        parse_instruction("remove the watermark and make it better")


@pytest.mark.parametrize(
    ("instruction", "words"),
    [
        ("crop it", "crop to square"),
        ("裁剪一下", "裁剪成正方形"),
        ("make it smaller", "scale to 50%"),
        ("rotate 360 degrees", "rotate 90 degrees clockwise"),
        ("hello there", "make it brighter"),
    ],
)
def test_incomplete_instructions_suggest_the_missing_detail(instruction: str, words: str) -> None:
    with pytest.raises(NeedsClarificationError) as caught:
        parse_instruction(instruction)
    assert words in caught.value.suggestions


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("把背景换成白色" + "，再提亮一点" * 400, "limit is 2000"),
        ("👍🎉🔥", "only emoji"),
        ("😀 😀 ！！？？", "only emoji"),
        ("...!!!", "only emoji"),
    ],
)
def test_unusable_instructions_get_clear_errors(text: str, fragment: str) -> None:
    with pytest.raises(BadInputError) as caught:
        parse_instruction(text)
    assert not isinstance(caught.value, NeedsClarificationError)
    assert fragment in caught.value.message


def test_an_instruction_of_exactly_2000_characters_is_accepted() -> None:
    text = "把'" + "字" * 1992 + "'换成'新'"
    assert len(text) == 2000
    plan = parse_instruction(text)
    assert plan.operations[0] == TextReplace(old="字" * 1992, new="新", source=text)


# -- the pieces ----------------------------------------------------------------------------


def test_colour_table_covers_both_languages() -> None:
    assert len(COLOR_RGB) >= 30
    for zh, en in [
        ("红色", "red"),
        ("深蓝", "dark blue"),
        ("藏青", "navy"),
        ("粉", "pink"),
        ("金色", "gold"),
        ("灰色", "grey"),
        ("米色", "beige"),
        ("酒红", "burgundy"),
        ("天蓝色", "sky blue"),
    ]:
        assert parse_color(zh) == parse_color(en) is not None, zh
    assert parse_color("#FF8800") == (255, 136, 0)
    assert parse_color("#f80") == (255, 136, 0)
    assert parse_color("Navy Blue") == parse_color("navy")
    assert parse_color("plaid") is None


@pytest.mark.parametrize(
    ("text", "place", "rest"),
    [
        ("去掉左下角的水印", Place.BOTTOM_LEFT, "去掉水印"),
        ("在右上角加上文字", Place.TOP_RIGHT, "加上文字"),
        ("把背景中的绿色改成黄色", Place.BACKGROUND, "把绿色改成黄色"),
        ("把正中的花去掉", Place.CENTER, "把花去掉"),
        ("remove the logo in the bottom-left corner", Place.BOTTOM_LEFT, "remove the logo"),
        ("lower-left logo", Place.BOTTOM_LEFT, "logo"),
        ("move the cat to the top right", Place.TOP_RIGHT, "move the cat"),
        ("put it in the middle", Place.CENTER, "put it"),
        ("the trees in the background", Place.BACKGROUND, "the trees"),
        ("the red box on the left", Place.LEFT, "the red box"),
    ],
)
def test_places_in_both_languages(text: str, place: Place, rest: str) -> None:
    assert take_place(text) == (place, rest)


def test_quotes_of_every_style_and_apostrophes_are_not_quotes() -> None:
    text = "'a' \"b\" “c” ‘d’ 「e」 『f』 Valentine's don't"
    assert [quote.text for quote in find_quotes(text)] == ["a", "b", "c", "d", "e", "f"]
    assert find_quotes("make this Valentine's themed") == []


def test_clause_splitting_keeps_quotes_and_fixed_phrases_whole() -> None:
    assert split_clauses("add a 'Salt and Pepper' label and make it black and white") == [
        "add a 'Salt and Pepper' label",
        "make it black and white",
    ]
    assert split_clauses("合并图层") == ["合并图层"]
    assert split_clauses("please, make it brighter; then flip it.") == ["make it brighter", "flip it"]


# -- honest capability: generative edits are refused by the classic engine, by name ------------


def test_classic_engine_refuses_generative_edits_and_names_qwen(astronaut: Any) -> None:
    editor = Editor(engine="classic")
    with pytest.raises(UnsupportedOperationError) as caught:
        editor.edit(image=astronaut, prompt="换成蓝色长袖衬衫")
    assert "生成式模型" in caught.value.message and "换成蓝色长袖衬衫" in caught.value.message
    assert "qwen" in str(caught.value)


def test_cli_edit_reports_a_vague_instruction_with_suggestions(tmp_path: Path, astronaut: Any) -> None:
    from cli.main import app

    image = tmp_path / "in.png"
    astronaut.save(image)
    result = CliRunner().invoke(app, ["edit", str(image), "make it better", "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 2
    assert "too vague" in result.output and "make it brighter" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.png").exists()


# -- the optional LLM parser, against a scripted OpenAI-compatible server ----------------------


class _ScriptedServer:
    """A local /chat/completions endpoint answering with a scripted completion."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.content = ""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.requests.append(
                    {
                        "path": self.path,
                        "auth": self.headers["Authorization"],
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                payload = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": outer.content}}]}
                )
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def llm_server() -> Iterator[_ScriptedServer]:
    server = _ScriptedServer()
    yield server
    server.close()


def _llm_settings(server: _ScriptedServer) -> Settings:
    return Settings(llm="openai", llm_base_url=server.url, llm_model="qwen3-8b", llm_api_key="secret")


def test_llm_parser_plan_is_validated_and_options_are_passed(llm_server: _ScriptedServer) -> None:
    from engine.parsing import ParseOptions

    llm_server.content = (
        "```json\n"
        + json.dumps(
            {
                "operations": [
                    {"op": "recolor", "target": "hat", "to_color": "red"},
                    {"op": "theme", "name": "retro"},
                ]
            }
        )
        + "\n```"
    )
    plan = parse_instruction(
        "give the hat a red colour, old-timey",
        options=ParseOptions(temperature=0.7, top_k=50, max_new_tokens=128),
        settings=_llm_settings(llm_server),
    )
    assert plan.kinds == ["recolor", "theme"]
    assert plan.operations[0] == Recolor(
        target="hat", to_color="red", source="give the hat a red colour, old-timey"
    )
    request = llm_server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer secret"
    body = request["body"]
    assert (body["model"], body["temperature"], body["top_k"], body["max_tokens"]) == (
        "qwen3-8b",
        0.7,
        50,
        128,
    )
    assert "retro" in body["messages"][0]["content"]


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (500, "server error"),
        (200, "I think you want it brighter!"),
        (200, json.dumps({"operations": [{"op": "theme", "name": "steampunk"}]})),
        (200, json.dumps({"operations": [{"op": "teleport"}]})),
    ],
)
def test_llm_failures_fall_back_to_the_rules(llm_server: _ScriptedServer, status: int, content: str) -> None:
    llm_server.status, llm_server.content = status, content
    plan = parse_instruction("去掉左下角的水印", settings=_llm_settings(llm_server))
    assert len(llm_server.requests) == 1
    assert _dump(plan.operations) == _dump([TextRemove(watermark=True, place=Place.BOTTOM_LEFT)])


def test_llm_without_a_server_url_uses_the_rules() -> None:
    plan = parse_instruction("make it brighter", settings=Settings(llm="openai"))
    assert plan.kinds == ["adjust"]


def test_every_builtin_theme_name_parses_in_both_languages() -> None:
    from engine.themes import get_theme

    for slug in THEME_SLUGS:
        theme = get_theme(slug)
        assert parse_instruction(f"{theme.name_zh}风格").kinds == ["theme"]
        assert parse_instruction(f"{theme.name_zh}风格").operations[0].name == slug  # type: ignore[union-attr]
        assert parse_instruction(f"apply the {theme.name_en} theme").operations[0].name == slug  # type: ignore[union-attr]


# -- every clause accounted for; purposes; pads; colours ----------------------------------------


@pytest.mark.parametrize(
    ("instruction", "kinds"),
    [
        ("换成夏季短裤 + 添加'新品上市'标签", ["generative", "text_add"]),
        ("加一只猫 ＋ 加一个'SALE'标签", ["generative", "text_add"]),
        ("裁剪成正方形再提亮", ["crop", "adjust"]),
        ("去掉水印和加一个'新品'标签", ["text_remove", "text_add"]),
        ("去掉水印、提亮一点", ["text_remove", "adjust"]),
        ("提亮；裁剪成1:1", ["adjust", "crop"]),
        ("make it warmer and crop to 4:3", ["adjust", "crop"]),
        ("flip it, then make it brighter", ["flip", "adjust"]),
    ],
)
def test_no_clause_is_dropped(instruction: str, kinds: list[str]) -> None:
    assert parse_instruction(instruction).kinds == kinds


def test_nouns_joined_by_and_stay_one_clause() -> None:
    plan = parse_instruction("把红色和蓝色换成绿色")
    assert len(plan.operations) == 1


@pytest.mark.parametrize(
    ("instruction", "purpose", "kinds", "size"),
    [
        ("裁剪成1:1，用于淘宝主图", "taobao", ["crop", "resize"], (800, 800)),
        ("做成淘宝主图", "taobao", ["pad", "resize"], (800, 800)),
        ("for an Amazon listing", "amazon", ["background", "pad", "resize"], (2000, 2000)),
        ("make it brighter for Shopify", "shopify", ["adjust", "pad", "resize"], (2048, 2048)),
    ],
)
def test_purpose_clauses_become_marketplace_presets(
    instruction: str, purpose: str, kinds: list[str], size: tuple[int, int]
) -> None:
    plan = parse_instruction(instruction)
    assert plan.purpose == purpose and plan.kinds == kinds
    resize = plan.operations[-1]
    assert isinstance(resize, Resize) and (resize.width, resize.height) == size and resize.implied
    if purpose == "amazon":
        assert plan.operations[0] == Background(
            mode="solid", color="white", source=plan.operations[0].source, implied=True
        )


def test_pads_stretch_and_transparency() -> None:
    assert parse_instruction("补白成正方形").operations[0] == Pad(
        aspect="1:1", color="white", source="补白成正方形"
    )
    assert parse_instruction("pad to 16:9").operations[0] == Pad(aspect="16:9", source="pad to 16:9")
    assert parse_instruction("resize to 800x800").operations[0] == Resize(
        width=800, height=800, source="resize to 800x800"
    )
    assert parse_instruction("stretch to 800x800").operations[0].stretch  # type: ignore[union-attr]
    for text in (
        "去掉背景，做成透明背景",
        "remove the background",
        "抠图",
        "make the background transparent",
    ):
        plan = parse_instruction(text)
        assert [op.op for op in plan.operations] == ["background"], text
        assert plan.operations[0].mode == "transparent"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("word", "rgb"),
    [
        ("宝蓝", (65, 105, 225)),
        ("藏青", (0, 0, 110)),
        ("酒红", (128, 0, 32)),
        ("香槟金", (222, 196, 150)),
        ("荧光绿", (57, 255, 20)),
        ("tomato red", None),
        ("slateblue", (106, 90, 205)),
        ("#1e90ff", (30, 144, 255)),
    ],
)
def test_colour_table(word: str, rgb: tuple[int, int, int] | None) -> None:
    assert parse_color(word) == rgb


def test_recolour_of_a_named_object_without_its_colour() -> None:
    op = parse_instruction("把杯子换成宝蓝色").operations[0]
    assert op == Recolor(target="杯子", to_color="royal blue", source="把杯子换成宝蓝色")


def test_price_edits_parse_as_text_and_removal_not_generative() -> None:
    assert parse_instruction("把价格改成¥99").operations[0] == TextReplace(
        new="¥99", price=True, source="把价格改成¥99"
    )
    assert parse_instruction("change the price to $19.99").operations[0] == TextReplace(
        new="$19.99", price=True, source="change the price to $19.99"
    )
    assert parse_instruction("remove the price tag").operations[0] == Remove(
        target="price tag", source="remove the price tag"
    )


def test_a_clause_the_classic_engine_cannot_do_refuses_the_whole_edit_naming_it(astronaut: Any) -> None:
    editor = Editor(engine="classic")
    with pytest.raises(UnsupportedOperationError) as caught:
        editor.edit(image=astronaut, prompt="加一只猫 + 加一个'SALE'标签")
    assert "“加一只猫”需要生成式模型" in caught.value.message  # the badge alone is not a success
    with pytest.raises(UnsupportedOperationError, match="'add a cat' needs a generative model"):
        editor.edit(image=astronaut, prompt="add a cat, then add a 'SALE' badge")
