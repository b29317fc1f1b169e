"""Shared pieces of the agent tests: a test scene, a scripted-conversation runner."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from agent import ChatAgent, Turn
from engine.imageio import encode_image


def scene() -> Image.Image:
    """A product picture: a red dress, a blue shirt and the word SALE on a light wall."""
    img = Image.new("RGB", (320, 240), (225, 225, 220))
    draw = ImageDraw.Draw(img)
    draw.polygon([(60, 60), (100, 60), (120, 200), (40, 200)], fill=(200, 30, 30))
    draw.rectangle([180, 70, 260, 150], fill=(30, 60, 200))
    draw.text((170, 180), "SALE", fill=(0, 0, 0), font=ImageFont.load_default(size=36))
    return img


def png_bytes(image: Image.Image) -> bytes:
    return encode_image(image, "PNG")


@dataclass
class Step:
    """One user message and what a person would check about the agent's answer."""

    text: str
    #: the tool called, several in order for a turn of several actions, None for a direct reply
    tool: str | tuple[str, ...] | None
    args: dict[str, Any] = field(default_factory=dict)  # expected subset of the last call's arguments
    resolved: str | None = None  # expected resolved instruction (exact)
    image: int | None = None  # position of the image acted on
    version: int | None = None  # the head version number after the turn
    parent: int | None = None  # the new version's parent number (edits)
    reply: tuple[str, ...] = ()  # words the reply must contain
    failed: bool = False  # the turn's last step failed (and nothing after it ran)
    language: str | None = None  # "zh" or "en": the whole reply is in that language


def assert_language(reply: str, language: str) -> None:
    """A Chinese reply has Chinese and no English phrase (three English words in a row); an
    English one has no Chinese at all."""
    if language == "zh":
        assert re.search(r"[\u4e00-\u9fff]", reply), reply
        assert not re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", reply), reply
    else:
        assert not re.search(r"[\u3000-\u9fff\uff00-\uffef]", reply), reply


def run_script(agent: ChatAgent, session_id: str, steps: list[Step]) -> list[Turn]:
    turns = []
    store = agent.store
    for step in steps:
        turn = agent.send(session_id, step.text)
        turns.append(turn)
        where = f"turn {step.text!r}: {turn.to_json()}"
        names = [call["name"] for call in turn.tool_calls]
        expected = list(step.tool) if isinstance(step.tool, tuple) else [step.tool] if step.tool else []
        assert names == expected, where
        last_tool = expected[-1] if expected else None
        if step.tool:
            args = turn.tool_calls[-1]["args"]
            for key, value in step.args.items():
                assert args.get(key) == value, f"{where}: arg {key}"
            if step.failed:
                assert not turn.outcomes[-1].get("ok"), where
                assert all(o.get("ok") for o in turn.outcomes[:-1]), where
            else:
                assert all(o.get("ok") for o in turn.outcomes), where
        if step.language is not None:
            assert_language(turn.reply, step.language)
        if step.resolved is not None:
            assert turn.resolved_instruction == step.resolved, where
        for words in step.reply:
            assert words in turn.reply, f"{where}: reply lacks {words!r}"
        if step.image is not None:
            image = store.image(turn.image_id or "")
            assert image.position == step.image, where
        if step.version is not None:
            assert turn.version_id is not None, where
            version = store.version(turn.version_id)
            assert version.number == step.version, where
            assert store.head(version.image_id).id == version.id, where
            if step.parent is not None:
                assert version.parent_id is not None, where
                assert store.version(version.parent_id).number == step.parent, where
            if last_tool in ("edit_image", "apply_theme") and not step.failed:
                assert version.instruction == step.text, where
                assert turn.image_path and Path(store.version_location(version)).is_file(), where
    return turns
