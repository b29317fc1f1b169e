"""A turn split into its steps (navigation words in both languages, edits kept together), and
the planner's refusals of navigation that cannot be done, before any tool runs."""

from __future__ import annotations

import pytest

from agent import ChatAgent
from agent.navigation import split_turn
from agent.rules import theme_words
from engine.samples import sample_photo
from tests.agent_helpers import png_bytes, scene


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("撤销并把背景换成浅灰色", [("undo", "撤销"), ("request", "把背景换成浅灰色")]),
        ("撤销，然后把背景虚化", [("undo", "撤销"), ("request", "把背景虚化")]),
        ("回到原图，然后加一个'SALE'标签", [("version", "回到原图"), ("request", "加一个'SALE'标签")]),
        (
            "回到原图再把'新品上市'换成'SALE'",
            [("version", "回到原图"), ("request", "把'新品上市'换成'SALE'")],
        ),
        (
            "回到原图，加一个'SALE'标签，再调成黑白",
            [("version", "回到原图"), ("request", "加一个'SALE'标签，再调成黑白")],
        ),
        ("上一张", [("image", "上一张")]),
        ("下一张", [("image", "下一张")]),
        ("切换到第二张，然后把它调亮一点", [("image", "切换到第二张"), ("request", "把它调亮一点")]),
        ("上一版", [("version", "上一版")]),
        ("下一版", [("version", "下一版")]),
        ("第3版", [("version", "第3版")]),
        ("最早的版本", [("version", "最早的版本")]),
        ("the previous image", [("image", "the previous image")]),
        ("version 3", [("version", "version 3")]),
        ("go back to the one before", [("version", "go back to the one before")]),
        ("undo and make it brighter", [("undo", "undo"), ("request", "make it brighter")]),
        # Not navigation: one request with the whole text, as before.
        ("把第二张调亮一点", [("request", "把第二张调亮一点")]),
        ("第二张从原图开始调亮一点", [("request", "第二张从原图开始调亮一点")]),
        ("在右上角贴上一张贴纸", [("request", "在右上角贴上一张贴纸")]),
        ("把红色连衣裙换成蓝色，然后调亮一点", [("request", "把红色连衣裙换成蓝色，然后调亮一点")]),
    ],
)
def test_turn_steps(text: str, steps: list[tuple[str, str]]) -> None:
    assert [(step.kind, step.text) for step in split_turn(text, theme_words())] == steps


@pytest.mark.parametrize(
    ("text", "count"), [("go back two steps", 2), ("回退两步", 2), ("撤销3次", 3), ("undo twice", 2)]
)
def test_undo_counts(text: str, count: int) -> None:
    [step] = split_turn(text, theme_words())
    assert (step.kind, step.count) == ("undo", count)


def test_navigation_that_cannot_be_done_is_refused_in_the_users_language(agent: ChatAgent) -> None:
    session = agent.new_session()
    agent.attach(session, png_bytes(scene()), name="scene.png")
    agent.attach(session, png_bytes(sample_photo("coffee").resize((160, 120))), name="coffee.png")
    answers = {
        "第三张": "这个会话只有2张图，没有第3张。",  # an absolute position, even on the last image
        "下一张": "图2已经是最后一张了，后面没有图片。",
        "the next image": "Image 2 is already the last image; there is none after it.",
        "撤销": "图2现在就是原图，没有可以撤销的修改。",
        "redo": "Image 2 has nothing to redo (redo works after an undo, before a new edit).",
        "上一版": "图2现在就是原图，没有上一版。",
        "the next version": "Version 0 is the newest of image 2; there is no next version.",
        "把第五张调亮一点": "这个会话只有2张图，没有第5张。",
    }
    for text, reply in answers.items():
        turn = agent.send(session, text)
        assert (turn.reply, turn.tool_calls) == (reply, []), text
    assert all(len(agent.store.versions(image.id)) == 1 for image in agent.store.images(session))
