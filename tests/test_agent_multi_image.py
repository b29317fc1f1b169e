"""Edits that take something from another image of the session ("put the logo from the second
image on the first"): the rules planner, the real agent and store, the tiny randomly initialised
Qwen-Image-Edit-2509 on CPU for the edit itself (its pictures are noise; what is checked is
which images and versions went in and what was recorded), and the classic engine's refusal."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from agent import ChatAgent
from engine import Editor
from engine.imageio import load_image
from tests.agent_helpers import Step, png_bytes, run_script, scene


def logo() -> Image.Image:
    """A round orange logo on white, smaller than the scene."""
    img = Image.new("RGB", (96, 96), (255, 255, 255))
    ImageDraw.Draw(img).ellipse([10, 10, 86, 86], fill=(240, 160, 0))
    return img


def two_images(agent: ChatAgent) -> str:
    session = agent.new_session()
    agent.attach(session, png_bytes(scene()), name="scene.png")
    agent.attach(session, png_bytes(logo()), name="logo.png")
    return session


def test_logo_from_the_second_image_goes_on_the_first(qwen_editor: Editor) -> None:
    agent = ChatAgent(editor=qwen_editor)
    session = two_images(agent)
    store = agent.store
    first, second = store.images(session)
    # The logo image moves on first, so its reference is version 1, not the original.
    run_script(
        agent, session, [Step("第二张调亮一点", "edit_image", args={"image": "2"}, image=2, version=1)]
    )
    [turn] = run_script(
        agent,
        session,
        [
            Step(
                "put the logo from the second image on the first",
                "edit_image",
                args={"image": "1", "reference_images": ["2"]},
                resolved="Put the logo from Picture 2 on Picture 1",
                image=1,
                version=1,
                parent=0,
                reply=(
                    'I made the edit "Put the logo from Picture 2 on Picture 1"',
                    "Picture 2 = image 2, version 1",
                ),
            )
        ],
    )
    assert store.head(second.id).number == 1  # the reference is read, never moved
    version = store.version(turn.version_id or "")
    assert version.image_id == first.id
    edited = load_image(store.read_version(version)).image
    assert edited.size == scene().size
    record = store.version_audit(version.id)
    assert record["engine"] == "qwen"
    assert record["instruction"] == "put the logo from the second image on the first"
    second_head = store.head(second.id)
    pictures = [(p["picture"], p["image_id"], p["version_id"]) for p in record["parameters"]["inputs"]]
    assert pictures == [(1, first.id, version.parent_id), (2, second.id, second_head.id)]
    assert record["resolution"]["references"] == [
        {"picture": 2, "image": 2, "image_id": second.id, "version": 1, "version_id": second_head.id}
    ]


def test_chinese_logo_edit_with_a_named_reference_version(qwen_editor: Editor) -> None:
    agent = ChatAgent(editor=qwen_editor)
    session = two_images(agent)
    [turn] = run_script(
        agent,
        session,
        [
            Step(
                "把第二张图里的logo放到第一张上",
                "edit_image",
                args={"image": "1", "reference_images": ["2"]},
                resolved="把Picture 2里的logo放到Picture 1上",
                image=1,
                version=1,
                parent=0,
                reply=("已按“把Picture 2里的logo放到Picture 1上”修改画面", "Picture 2 = 图2第0版"),
            )
        ],
    )
    assert turn.outcomes[0]["data"]["engine"] == "qwen"
    # The tool also takes a named version of a reference ("2@original").
    from tools import SessionTools, ToolContext

    tools = SessionTools(ToolContext(session_id=session, store=agent.store, editor=qwen_editor))
    outcome = tools.edit_image(
        "Put the logo from Picture 2 on Picture 1", image="1", reference_images=["2@original"]
    )
    assert outcome.ok, outcome.error
    assert outcome.parent_version == 1 and outcome.data["references"][0]["version"] == 0


def test_classic_engine_says_it_needs_qwen_and_makes_no_version() -> None:
    agent = ChatAgent(editor=Editor(engine="classic"))
    session = two_images(agent)
    store = agent.store
    for text, words in [
        ("put the logo from the second image on the first", "needs the qwen engine"),
        ("把第二张的logo放到第一张上", "需要 qwen 引擎"),
    ]:
        turn = agent.send(session, text)
        assert [c["args"].get("reference_images") for c in turn.tool_calls] == [["2"]]
        assert words in turn.reply and "IMGEDIT_QWEN_MODEL" in turn.reply
        assert turn.version_id is None
        assert turn.outcomes[0]["error"]["code"] == "unsupported_operation"
    assert [len(store.versions(image.id)) for image in store.images(session)] == [1, 1]


@pytest.mark.parametrize(
    ("text", "image", "references", "instruction"),
    [
        (
            "use the style of the first photo on the second",
            "2",
            ["1"],
            "Use the style of Picture 2 on Picture 1",
        ),
        ("combine the two photos", "1", ["2"], "Combine Picture 1 and Picture 2"),
        ("用第一张的风格处理第二张", "2", ["1"], "用Picture 2的风格处理Picture 1"),
        (
            "Put the logo from image 2 on the other one",
            "1",
            ["2"],
            "Put the logo from Picture 2 on Picture 1",
        ),
        # Only the source named: the active image (the last attached, image 2) is edited.
        ("Put the circle from image 1 on it", "2", ["1"], "Put the circle from Picture 2 on it"),
    ],
)
def test_roles_and_picture_wording(text: str, image: str, references: list[str], instruction: str) -> None:
    agent = ChatAgent(editor=Editor(engine="classic"))
    session = two_images(agent)
    turn = agent.send(session, text)
    assert turn.tool_calls == [
        {
            "name": "edit_image",
            "args": {"instruction": instruction, "image": image, "reference_images": references},
        }
    ]


def test_the_other_one_among_three_images_is_asked() -> None:
    agent = ChatAgent(editor=Editor(engine="classic"))
    session = two_images(agent)
    agent.attach(session, png_bytes(scene()), name="third.png")
    asked = agent.send(session, "put the logo from image 2 on the other one")
    assert asked.tool_calls == [] and "which image" in asked.reply and "image 3" in asked.reply
    answered = agent.send(session, "3")
    assert [c["args"] for c in answered.tool_calls] == [
        {"instruction": "Put the logo from Picture 2 on Picture 1", "image": "3", "reference_images": ["2"]}
    ]
    assert "needs the qwen engine" in answered.reply


def test_at_most_two_references() -> None:
    from pydantic import ValidationError

    from tools.schemas import EditImageArgs

    with pytest.raises(ValidationError):
        EditImageArgs(instruction="Combine the pictures", reference_images=["1", "2", "3"])
    agent = ChatAgent(editor=Editor(engine="classic"))
    session = two_images(agent)
    from tools import SessionTools, ToolContext

    tools = SessionTools(ToolContext(session_id=session, store=agent.store, editor=agent.editor))
    outcome = tools.edit_image("Combine them", image="1", reference_images=["2", "2", "2"])
    assert not outcome.ok and "at most 2 reference images" in outcome.message
    missing = tools.edit_image("Put the logo from Picture 2 on Picture 1", image="1", reference_images=["7"])
    assert not missing.ok and missing.error and missing.error["code"] == "not_found"
