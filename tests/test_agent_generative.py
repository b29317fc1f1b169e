"""The shirt example across three turns, with generative edits run for real by the qwen backend
on the tiny randomly initialised Qwen-Image-Edit-2509 (tests/qwen_tiny.py, CPU). Its pictures
are noise; what is checked is the agent: tools, resolution, version graph and registry."""

from __future__ import annotations

from agent import ChatAgent
from engine import Editor
from tests.agent_helpers import Step, png_bytes, run_script, scene


def test_shirt_example_across_three_turns(qwen_editor: Editor) -> None:
    agent = ChatAgent(editor=qwen_editor)
    session = agent.new_session()
    agent.attach(session, png_bytes(scene()), name="model.png")
    turns = run_script(
        agent,
        session,
        [
            Step(
                "把上衣换成蓝色长袖衬衫", "edit_image", resolved="把上衣换成蓝色长袖衬衫", version=1, parent=0
            ),
            # Sharp new content between the two generative turns: the tiny model regenerates at
            # 64x64, so a second pass over its own blurry output changes nothing, which is now an
            # honest failure (nothing_changed) rather than a version equal to its parent.
            Step("在左上角加上“新品”标签", "edit_image", version=2, parent=1),
            Step(
                "把刚才那件衣服换成条纹款",
                "edit_image",
                resolved="把蓝色长袖衬衫换成条纹款",
                version=3,
                parent=2,
                reply=("已将第1次编辑中的蓝色长袖衬衫换成条纹长袖衬衫",),
            ),
        ],
    )
    assert turns[0].outcomes[0]["data"]["engine"] == "qwen"
    shirt = agent.store.entities(session)[0]
    assert (shirt.name, shirt.category) == ("条纹长袖衬衫", "clothing/shirt")
    assert shirt.history[0]["name"] == "蓝色长袖衬衫"
    record = agent.store.version_audit(turns[2].version_id or "")
    assert record["instruction"] == "把刚才那件衣服换成条纹款"
    assert record["resolved_instruction"] == "把蓝色长袖衬衫换成条纹款"
    assert record["resolution"]["entity"] == {
        "id": shirt.id,
        "name": "蓝色长袖衬衫",
        "category": "clothing/shirt",
        "version": 1,
    }
    assert record["engine"] == "qwen" and record["seed"] == 0
