"""Scripted conversations through the real agent: the rules planner, LangChain's create_agent,
the tools, the classic engine, a real SQLite store and checkpointer. Each turn checks the tool
called, how the reference was resolved, the version's parent and the image edited."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from agent import ChatAgent
from engine import Editor
from engine.imageio import load_image
from engine.samples import sample_photo
from sessions import SessionStore
from tests.agent_helpers import Step, png_bytes, run_script, scene


def attach_scene(agent: ChatAgent) -> str:
    session = agent.new_session()
    agent.attach(session, png_bytes(scene()), name="scene.png")
    return session


def test_chinese_references_undo_branch_and_revert(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    run_script(
        agent,
        session,
        [
            Step(
                "把红色连衣裙换成蓝色",
                "edit_image",
                resolved="把红色连衣裙换成蓝色",
                version=1,
                parent=0,
                image=1,
                reply=("已将红色连衣裙换成蓝色",),
            ),
            Step("调亮一点", "edit_image", version=2, parent=1),
            Step(
                "把刚才那件衣服换成绿色",
                "edit_image",
                resolved="把蓝色连衣裙换成绿色",
                version=3,
                parent=2,
                reply=("已将第1次编辑中的蓝色连衣裙换成绿色",),
            ),
            Step("撤销", "undo", version=2, reply=("已撤销",)),
            Step("水平翻转", "edit_image", version=4, parent=2),  # after undo: a branch from v2
            Step("看看历史版本", "list_versions", reply=("共有5个版本", "* v4 ← 2")),
            Step("回到原图", "revert", args={"version": "0"}, version=0, reply=("原图",)),
            Step("把蓝色衬衫换成红色", "edit_image", version=5, parent=0),  # starts from the original
        ],
    )
    store = agent.store
    image = store.images(session)[0]
    graph = {
        v.number: (store.version(v.parent_id).number if v.parent_id else None)
        for v in store.versions(image.id)
    }
    assert graph == {0: None, 1: 0, 2: 1, 3: 2, 4: 2, 5: 0}  # nothing was deleted
    green = store.version_audit(store.find_version(image.id, "3").id)
    assert green["resolution"]["entity"]["name"] == "蓝色连衣裙"
    assert green["resolution"]["entity"]["version"] == 1
    dress = next(e for e in store.entities(session) if e.category == "clothing/dress")
    assert dress.name == "绿色连衣裙" and dress.history[0]["name"] == "蓝色连衣裙"


def test_english_undo_redo_compare_and_edit_from_an_earlier_version(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    turns = run_script(
        agent,
        session,
        [
            Step(
                "Make the red dress blue",
                "edit_image",
                version=1,
                parent=0,
                reply=("I made the red dress blue",),
            ),
            Step("Replace the text 'SALE' with 'NEW'", "edit_image", version=2, parent=1),
            Step(
                "Make that dress green",
                "edit_image",
                resolved="Make the blue dress green",
                version=3,
                parent=2,
                reply=("I made the blue dress from edit 1 green",),
            ),
            Step("undo that", "undo", version=2),
            Step("redo", "redo", version=3, reply=("Redone",)),
            Step("compare with the previous version", "compare_versions", args={"a": "2"}, version=3),
            Step("go back to version 1", "revert", args={"version": "1"}, version=1),
            Step("apply the retro theme", "apply_theme", args={"theme": "retro"}, version=4, parent=1),
        ],
    )
    compared = turns[5].outcomes[0]
    assert 0.0 < compared["data"]["changed_area_ratio"] < 0.5
    diff = load_image(Path(compared["image_path"])).image
    assert diff.size == (320, 240)
    # The recolour really happened: the dress is green in version 3, blue in version 1.
    image = agent.store.images(session)[0]
    v1 = np.asarray(load_image(agent.store.read_version(agent.store.find_version(image.id, "1"))).image)
    v3 = np.asarray(load_image(agent.store.read_version(agent.store.find_version(image.id, "3"))).image)
    assert v1[150, 80, 2] > v1[150, 80, 1] and v3[150, 80, 1] > v3[150, 80, 2]


def test_two_images_in_one_session(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    agent.attach(session, png_bytes(sample_photo("coffee").resize((200, 150))), name="coffee.png")
    run_script(
        agent,
        session,
        [
            Step(
                "把第一张图的红色连衣裙换成蓝色",
                "edit_image",
                resolved="把红色连衣裙换成蓝色",
                image=1,
                version=1,
                parent=0,
            ),
            Step(
                "第二张调暗一点", "edit_image", args={"image": "2"}, resolved="调暗一点", image=2, version=1
            ),
            Step("把它水平翻转", "edit_image", args={"image": "2"}, image=2, version=2, parent=1),
            Step(
                "把第一张的那件衣服换成绿色",
                "edit_image",
                resolved="把蓝色连衣裙换成绿色",
                image=1,
                version=2,
                parent=1,
                reply=("第1次编辑中的蓝色连衣裙",),
            ),
            Step("撤销第二张的修改", "undo", args={"image": "2"}, image=2, version=1),
            Step(
                "第二张从原图开始调亮一点",
                "edit_image",
                args={"from_version": "0"},
                image=2,
                version=3,
                parent=0,
            ),
        ],
    )
    assert [image.name for image in agent.store.images(session)] == ["scene.png", "coffee.png"]


def test_ambiguous_reference_asks_which_one(agent: ChatAgent) -> None:
    session = attach_scene(agent)
    turns = run_script(
        agent,
        session,
        [
            Step("Make the red dress purple", "edit_image", version=1),
            Step("Make the blue shirt green", "edit_image", version=2),
            Step(
                "Make that piece of clothing yellow",
                None,
                reply=(
                    "Which one do you mean?",
                    "the green shirt (image 1, from edit 2)",
                    "the purple dress",
                ),
            ),
            Step(
                "the shirt",
                "edit_image",
                resolved="Make the green shirt yellow",
                version=3,
                parent=2,
                reply=("I made the green shirt from edit 2 yellow",),
            ),
            Step("describe the image", "describe_image", reply=("320x240", "yellow shirt", "purple dress")),
            Step(
                "show the history",
                "list_versions",
                reply=("4 versions", "* v3 ← 2: Make the green shirt yellow"),
            ),
        ],
    )
    assert turns[2].version_id is None  # the question changed nothing
    assert len(agent.store.versions(agent.store.images(session)[0].id)) == 4


def test_restart_in_the_middle_resumes_with_the_same_references(classic: Editor, imgedit_home: Path) -> None:
    first = ChatAgent(editor=classic)
    session = attach_scene(first)
    run_script(
        first,
        session,
        [
            Step("把红色连衣裙换成蓝色", "edit_image", version=1, parent=0),
            Step("加一个'NEW'角标", "edit_image", version=2, parent=1),
        ],
    )
    first.checkpointer.conn.close()  # type: ignore[attr-defined]
    del first

    # A new process: new store, new checkpointer, same IMGEDIT_HOME.
    second = ChatAgent(editor=classic, store=SessionStore())
    assert [m.content for m in second.history(session) if m.type == "human"] == [
        "把红色连衣裙换成蓝色",
        "加一个'NEW'角标",
    ]
    run_script(
        second,
        session,
        [
            Step(
                "把刚才那条裙子换成绿色",
                "edit_image",
                resolved="把蓝色连衣裙换成绿色",
                version=3,
                parent=2,
                reply=("第1次编辑中的蓝色连衣裙",),
            ),
            Step("撤销", "undo", version=2),
            Step("重做", "redo", version=3),
            Step("和上一版对比一下", "compare_versions", args={"a": "2"}, reply=("第3版与第2版相比",)),
        ],
    )


def test_parallel_sessions_never_see_each_others_images(classic: Editor) -> None:
    agent = ChatAgent(editor=classic)
    one = attach_scene(agent)
    two = agent.new_session()
    agent.attach(two, png_bytes(sample_photo("coffee").resize((200, 150))), name="coffee.png")
    scripts = {
        one: [
            Step("Make the red dress blue", "edit_image", version=1, parent=0),
            Step("make it brighter", "edit_image", version=2, parent=1),
            Step("undo", "undo", version=1),
        ],
        two: [
            Step("make it darker", "edit_image", version=1, parent=0),
            Step("flip it horizontally", "edit_image", version=2, parent=1),
            Step("go back to the original", "revert", version=0),
        ],
    }
    errors: list[BaseException] = []

    def converse(session: str) -> None:
        try:
            run_script(agent, session, scripts[session])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=converse, args=(s,)) for s in scripts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    # Session two knows nothing of session one's dress: the reference does not cross over.
    turn = agent.send(two, "Make that dress green")
    assert "target_entity" not in turn.tool_calls[0]["args"]
    store = agent.store
    assert [i.name for i in store.images(two)] == ["coffee.png"]
    assert {v.session_id for v in store.session_versions(two)} == {two}
    assert store.entities(two) == []
    assert [e.name for e in store.entities(one)] == ["blue dress"]
    assert all(m.text != "Make the red dress blue" for m in store.messages(two))


def test_recolouring_a_known_object_leaves_another_of_the_same_colour_alone(agent: ChatAgent) -> None:
    """After "the red dress blue", the picture has two blue things (the dress and the shirt):
    "that dress green" recolours the dress only, inside the box the session knows it by."""
    session = attach_scene(agent)
    run_script(
        agent,
        session,
        [
            Step("把红色连衣裙换成蓝色", "edit_image", version=1),
            Step("把刚才那条裙子换成绿色", "edit_image", resolved="把蓝色连衣裙换成绿色", version=2),
        ],
    )
    store = agent.store
    image = store.images(session)[0]
    pixels = np.asarray(load_image(store.read_version(store.head(image.id))).image.convert("RGB"))
    dress, shirt = pixels[150, 80].astype(int), pixels[110, 220].astype(int)
    assert dress[1] > dress[0] + 60 and dress[1] > dress[2] + 60  # green
    assert list(shirt) == [30, 60, 200]  # the shirt is still exactly its blue
