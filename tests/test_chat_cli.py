"""``imgedit chat`` end to end: messages and slash commands from stdin, ``--json`` turns,
``--session`` resume, export, and clear errors that do not end the conversation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from engine.imageio import load_image
from imgedit.errors import NeedsClarificationError
from tests.agent_helpers import scene

runner = CliRunner()


def chat(lines: list[str], *args: str) -> list[dict]:
    result = runner.invoke(
        app, ["chat", "--json", "--engine", "classic", *args], input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_chat_json_turns_slash_commands_and_resume(tmp_path: Path) -> None:
    photo = tmp_path / "scene.png"
    scene().save(photo)
    out = tmp_path / "out.jpg"
    turns = chat(
        [
            f"/attach {photo}",
            "把红色连衣裙换成蓝色",
            "make it brighter",
            "/undo",
            "/redo",
            "/history",
            "/revert 1",
            f"/export {out}",
            f"/export {tmp_path / 'audit.json'}",
            "/attach /no/such/file.png",
            "/frobnicate",
        ]
    )
    keys = {"reply", "tool_calls", "resolved_instruction", "image_id", "version_id", "image_path"}
    assert all(keys <= set(turn) for turn in turns)
    attach, recolor, brighter, undo, redo, history, revert, _export, _audit, missing, unknown = turns
    assert attach["reply"] == "Attached image 1 (320x240)."
    assert recolor["tool_calls"][0]["name"] == "edit_image"
    assert recolor["resolved_instruction"] == "把红色连衣裙换成蓝色"
    assert Path(recolor["image_path"]).is_file()
    assert brighter["reply"].startswith("I made it brighter")
    assert undo["version_id"] == recolor["version_id"]
    assert redo["version_id"] == brighter["version_id"]
    assert "* v2 ← 1" in history["reply"]
    assert revert["version_id"] == recolor["version_id"]
    assert load_image(out).format == "JPEG"
    record = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert [v["number"] for v in record["images"][0]["versions"]] == [0, 1, 2]
    assert missing["error"]["code"] == "bad_input" and "No such image file" in missing["reply"]
    assert "Unknown command /frobnicate" in unknown["reply"]

    session = record["session"]["id"]
    resumed = chat(["把刚才那条裙子换成绿色", "/history"], "--session", session)
    assert resumed[0]["resolved_instruction"] == "把蓝色连衣裙换成绿色"
    assert "第1次编辑中的蓝色连衣裙" in resumed[0]["reply"]
    assert "v3 ← 1" in resumed[1]["reply"]  # the edit started from the reverted-to version 1


def test_chat_without_image_explains_and_unknown_session_is_bad_input() -> None:
    turns = chat(["make it brighter", "你好"])
    assert "/attach" in turns[0]["reply"] and turns[0]["tool_calls"] == []
    assert "撤销" in turns[1]["reply"]
    result = runner.invoke(app, ["chat", "--session", "nope"], input="")
    assert result.exit_code == 2
    assert "No session nope" in result.stderr


def test_chat_errors_keep_their_code_and_export_refuses_unknown_suffixes(tmp_path: Path) -> None:
    photo = tmp_path / "scene.png"
    scene().save(photo)
    attach, wrong_suffix, missing_version = chat(
        [f"/attach {photo}", f"/export {tmp_path / 'out.txt'}", "/revert 9"]
    )
    assert attach["image_id"]
    assert wrong_suffix["error"]["code"] == "bad_input"
    assert "'.txt'" in wrong_suffix["reply"] and ".webp" in wrong_suffix["error"]["hint"]
    assert not (tmp_path / "out.txt").exists()
    assert missing_version["error"]["code"] == "not_found"


def test_chat_shows_suggestions_like_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    from agent import ChatAgent
    from cli.chat_session import ChatSession
    from engine import Editor

    agent = ChatAgent(editor=Editor(engine="classic"))
    chat_session = ChatSession(agent, agent.new_session(), as_json=False)
    chat_session._error(NeedsClarificationError("Say what to change.", suggestions=["make it brighter"]))
    printed = capsys.readouterr().err
    assert "Say what to change." in printed and "make it brighter" in printed


def test_chat_select_switches_the_image_the_next_message_edits(tmp_path: Path) -> None:
    """Two pictures attached: ``/select 1`` makes the first one "it" again, without a new version."""
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    scene().save(first)
    scene().save(second)
    attach1, attach2, select, brighter, missing = chat(
        [f"/attach {first}", f"/attach {second}", "/select 1", "make it brighter", "/select 7"]
    )
    assert select["tool_calls"] == [{"name": "select_image", "args": {"image": "1"}}]
    assert select["image_id"] == attach1["image_id"] and select["version_id"] == attach1["version_id"]
    assert brighter["image_id"] == attach1["image_id"] != attach2["image_id"]
    assert missing["error"]["code"] == "not_found"


def test_a_bad_file_attached_in_a_chinese_conversation_is_told_in_chinese(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    _hello, attach, missing = chat(["把图片调亮一点", f"/attach {broken}", f"/attach {tmp_path / 'no.png'}"])
    assert attach["error"]["code"] == "bad_input" and "不是可读取的" in attach["reply"], attach
    assert "文件已损坏" in attach["error"]["hint"]
    assert "找不到图片文件" in missing["reply"], missing
