"""Turns that hold several actions, navigation words, references across images and the replies'
wording, through the real agent (rules planner, create_agent, classic engine, SQLite store).

Each conversation checks the tool calls in order, the version graph (every version's parent),
the image edited and the reply's language and exact sentences.
"""

from __future__ import annotations

from agent import ChatAgent
from engine.samples import sample_photo
from sessions import SessionStore
from tests.agent_helpers import Step, png_bytes, run_script, scene


def attach_scene(agent: ChatAgent) -> str:
    session = agent.new_session()
    agent.attach(session, png_bytes(scene()), name="scene.png")
    return session


def attach_second(agent: ChatAgent, session: str) -> None:
    agent.attach(session, png_bytes(sample_photo("coffee").resize((160, 120))), name="coffee.png")


def graph(store: SessionStore, session: str, position: int = 1) -> dict[int, int | None]:
    """Version number -> its parent's number, for the image at ``position``."""
    image = store.images(session)[position - 1]
    versions = {v.id: v for v in store.versions(image.id)}
    return {v.number: (versions[v.parent_id].number if v.parent_id else None) for v in versions.values()}


def head(store: SessionStore, session: str, position: int) -> int:
    return store.head(store.images(session)[position - 1].id).number


def test_undo_then_edit_in_one_turn(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    run_script(
        agent,
        session,
        [
            Step("把红色连衣裙换成蓝色", "edit_image", version=1, parent=0, language="zh"),
            Step(
                "撤销并把背景换成浅灰色",
                ("undo", "edit_image"),
                resolved="把背景换成浅灰色",
                image=1,
                version=2,
                parent=0,
                language="zh",
                reply=("已撤销：图1回到第0版。\n已将背景换成浅灰色（图1，第2版，基于第0版）。",),
            ),
            Step(
                "撤销，然后把背景虚化",
                ("undo", "edit_image"),
                resolved="把背景虚化",
                version=3,
                parent=0,
                language="zh",
                reply=("已撤销：图1回到第0版。", "已将背景虚化（图1，第3版，基于第0版）。"),
            ),
        ],
    )
    assert graph(agent.store, session) == {0: None, 1: 0, 2: 0, 3: 0}


def test_revert_to_the_original_then_two_edits(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    turns = run_script(
        agent,
        session,
        [
            Step("把红色连衣裙换成蓝色", "edit_image", version=1, parent=0),
            Step(
                "调亮一点",
                "edit_image",
                version=2,
                parent=1,
                reply=("已调亮画面（图1，第2版，基于第1版）。",),
            ),
            Step(
                "回到原图，然后加一个'SALE'标签，再调成黑白",
                ("revert", "edit_image"),
                args={"instruction": "加一个'SALE'标签，再调成黑白"},
                version=3,
                parent=0,
                language="zh",
                reply=(
                    "已恢复图1的原图（第0版），之后的编辑将从原图开始。\n"
                    "已加上“SALE”标签，并套用黑白主题（图1，第3版，基于第0版）。",
                ),
            ),
        ],
    )
    assert turns[2].tool_calls[0]["args"] == {"version": "0", "image": "1"}
    store = agent.store
    assert graph(store, session) == {0: None, 1: 0, 2: 1, 3: 0}
    plan = store.version(turns[2].version_id or "").plan or {}
    assert [op["op"] for op in plan["operations"]] == ["text_add", "theme"]  # both edits ran
    assert "已将调" not in turns[1].reply and "回到" not in turns[2].reply.splitlines()[1]


def test_english_navigation_words(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    turns = run_script(
        agent,
        session,
        [
            Step("Make the red dress blue", "edit_image", version=1, parent=0),
            Step("Make the blue shirt on the right green", "edit_image", version=2, parent=1),
            Step(
                "go back two steps",
                ("undo", "undo"),
                version=0,
                language="en",
                reply=("Undone: image 1 is back at version 1.\nUndone: image 1 is back at version 0.",),
            ),
            Step("version 2", "revert", args={"version": "2"}, version=2, reply=("back at version 2",)),
            Step("go back to the one before", "revert", args={"version": "1"}, version=1),
            Step("the next version", "revert", args={"version": "2"}, version=2),
            Step("go to the earliest version", "revert", args={"version": "0"}, version=0, language="en"),
            Step(
                "undo and make it brighter",
                None,
                language="en",
                reply=(
                    "Image 1 is at the original; there is nothing to undo.\n"
                    'So I stopped there and did not do: "make it brighter".',
                ),
            ),
        ],
    )
    assert turns[-1].version_id is None
    assert graph(agent.store, session) == {0: None, 1: 0, 2: 1}  # navigation made no version
    assert head(agent.store, session, 1) == 0


def test_chinese_version_words(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    run_script(
        agent,
        session,
        [
            Step("把红色连衣裙换成蓝色", "edit_image", version=1, parent=0),
            Step("水平翻转", "edit_image", version=2, parent=1, reply=("已水平翻转画面",)),
            Step("上一版", "revert", args={"version": "1"}, version=1, reply=("已将图1恢复到第1版",)),
            Step("下一版", "revert", args={"version": "2"}, version=2, language="zh"),
            Step("第1版", "revert", args={"version": "1"}, version=1),
            Step("最早的版本", "revert", args={"version": "0"}, version=0, reply=("已恢复图1的原图",)),
            Step("下一版", "revert", args={"version": "1"}, version=1),
            Step(
                "第9版",
                None,
                language="zh",
                reply=("图1没有这一版（共有3个版本，第0版到第2版）。",),
            ),
            Step(
                "回退两步然后调亮一点",
                ("undo",),
                failed=False,
                language="zh",
                reply=(
                    "已撤销：图1回到第0版。\n图1现在就是原图，没有可以撤销的修改。\n"
                    "因此后面的步骤没有执行：“调亮一点”。",
                ),
            ),
        ],
    )
    assert graph(agent.store, session) == {0: None, 1: 0, 2: 1}
    assert head(agent.store, session, 1) == 0


def test_ordinal_image_reference_after_a_second_image(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    run_script(agent, session, [Step("把红色连衣裙换成蓝色", "edit_image", image=1, version=1, parent=0)])
    attach_second(agent, session)  # the new image is the active one now
    run_script(
        agent,
        session,
        [
            Step(
                "第一张",
                "select_image",
                args={"image": "1"},
                image=1,
                version=1,
                language="zh",
                reply=("已切换到图1（当前是第1版）。",),
            ),
            Step("调亮一点", "edit_image", image=1, version=2, parent=1),  # not image 2
            Step("下一张", "select_image", args={"image": "2"}, image=2, version=0),
            Step("把它调暗一点", "edit_image", args={"image": "2"}, image=2, version=1, parent=0),
            Step(
                "上一张，然后水平翻转",
                ("select_image", "edit_image"),
                args={"image": "1"},
                image=1,
                version=3,
                parent=2,
                reply=("已切换到图1（当前是第2版）。\n已水平翻转画面（图1，第3版，基于第2版）。",),
            ),
            Step("第三张", None, language="zh", reply=("这个会话只有2张图，没有第3张。",)),
            Step("上一张", None, reply=("图1已经是第一张了，前面没有图片。",)),
        ],
    )
    assert graph(agent.store, session, 1) == {0: None, 1: 0, 2: 1, 3: 2}
    assert graph(agent.store, session, 2) == {0: None, 1: 0}


def test_english_image_navigation(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    attach_second(agent, session)
    run_script(
        agent,
        session,
        [
            Step(
                "the previous image",
                "select_image",
                image=1,
                language="en",
                reply=("Switched to image 1 (at version 0).",),
            ),
            Step(
                "make it brighter",
                "edit_image",
                image=1,
                version=1,
                parent=0,
                reply=("I made it brighter (image 1, version 1, from version 0).",),
            ),
            Step("the next image", "select_image", image=2, version=0),
            Step("the next image", None, language="en", reply=("Image 2 is already the last image",)),
            Step(
                "switch to the first image, then flip it horizontally",
                ("select_image", "edit_image"),
                image=1,
                version=2,
                parent=1,
                language="en",
                reply=("I flipped it horizontally (image 1, version 2, from version 1).",),
            ),
            Step("describe the second image", "describe_image", args={"image": "2"}, image=2),
            # "it" is the image the user looked at last, though no head moved.
            Step("make it darker", "edit_image", image=2, version=1, parent=0),
        ],
    )
    assert graph(agent.store, session, 1) == {0: None, 1: 0, 2: 1}
    assert graph(agent.store, session, 2) == {0: None, 1: 0}


def test_reference_to_a_badge_on_another_image(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    run_script(agent, session, [Step("加一个'新品上市'标签", "edit_image", version=1, parent=0)])
    attach_second(agent, session)
    turns = run_script(
        agent,
        session,
        [
            Step("第二张调亮一点", "edit_image", image=2, version=1, parent=0),
            Step(
                "把刚才的标签去掉",
                ("select_image", "edit_image"),
                args={"image": "1", "instruction": "把“新品上市”标签去掉"},
                image=1,
                version=2,
                parent=1,
                language="zh",
                reply=(
                    "已切换到图1（当前是第1版）。\n"
                    "已将第1次编辑中的“新品上市”标签去掉（图1，第2版，基于第1版）。",
                ),
            ),
        ],
    )
    store = agent.store
    badge = next(e for e in store.entities(session) if e.category == "graphic/badge")
    assert turns[1].tool_calls[1]["args"]["target_entity"] == badge.id
    assert badge.removed_version_id == turns[1].version_id
    assert graph(store, session, 1) == {0: None, 1: 0, 2: 1}
    assert graph(store, session, 2) == {0: None, 1: 0} and head(store, session, 2) == 1


def test_the_shirt_from_before_on_another_image(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    run_script(agent, session, [Step("Make the blue shirt green", "edit_image", version=1, parent=0)])
    attach_second(agent, session)
    run_script(
        agent,
        session,
        [
            Step("make it darker", "edit_image", image=2, version=1, parent=0),
            Step(
                "Make the shirt from before red",
                ("select_image", "edit_image"),
                resolved="Make the green shirt red",
                image=1,
                version=2,
                parent=1,
                language="en",
                reply=(
                    "Switched to image 1 (at version 1).\n"
                    "I made the green shirt from edit 1 red (image 1, version 2, from version 1).",
                ),
            ),
            Step("make it brighter", "edit_image", image=1, version=3, parent=2),
        ],
    )
    assert graph(agent.store, session, 2) == {0: None, 1: 0}


def test_failed_turn_then_it(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    attach_second(agent, session)  # image 2 is the active one
    turns = run_script(
        agent,
        session,
        [
            Step(
                "给第一张的人戴上一顶红色的帽子",
                "edit_image",
                args={"image": "1"},
                failed=True,
                language="zh",
                reply=("这一步没能完成：", "需要生成式模型（qwen 引擎）", "没有生成新版本。"),
            ),
            # "it" is the image the failed turn was about, not image 2.
            Step("把它调亮一点", "edit_image", args={"image": "1"}, image=1, version=1, parent=0),
            Step("上一张", None, language="zh", reply=("图1已经是第一张了，前面没有图片。",)),
            Step("把它水平翻转", "edit_image", args={"image": "1"}, image=1, version=2, parent=1),
            Step(
                "把衬衫换成一只猫，然后撤销",
                "edit_image",
                failed=True,
                language="zh",
                reply=("因此后面的步骤没有执行：“撤销”。",),
            ),
        ],
    )
    assert turns[0].version_id is None and turns[-1].version_id is None
    assert graph(agent.store, session, 1) == {0: None, 1: 0, 2: 1}
    assert head(agent.store, session, 1) == 2  # the undo after the failed edit did not run
    assert graph(agent.store, session, 2) == {0: None}


def test_two_candidates_on_two_images_ask_which(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    run_script(agent, session, [Step("把红色连衣裙换成蓝色", "edit_image", version=1, parent=0)])
    agent.attach(session, png_bytes(scene()), name="scene-2.png")
    turns = run_script(
        agent,
        session,
        [
            Step("把红色连衣裙换成绿色", "edit_image", image=2, version=1, parent=0),
            Step(
                "把刚才那件衣服换成黄色",
                "edit_image",
                resolved="把绿色连衣裙换成黄色",
                image=2,
                version=2,
                parent=1,
            ),
            Step(
                "把那件衣服换成紫色",
                None,
                language="zh",
                reply=(
                    "你指的是哪一个？\n1. 图2第2次编辑中的黄色连衣裙\n2. 图1第1次编辑中的蓝色连衣裙\n"
                    "请回复编号或名称。",
                ),
            ),
            Step(
                "第二个",
                ("select_image", "edit_image"),
                resolved="把蓝色连衣裙换成紫色",
                image=1,
                version=2,
                parent=1,
                language="zh",
                reply=("已切换到图1", "已将第1次编辑中的蓝色连衣裙换成紫色（图1，第2版，基于第1版）。"),
            ),
        ],
    )
    assert turns[2].version_id is None  # the question changed nothing
    assert graph(agent.store, session, 1) == {0: None, 1: 0, 2: 1}
    assert graph(agent.store, session, 2) == {0: None, 1: 0, 2: 1}
