"""The ``openai`` planner against a small OpenAI-compatible HTTP server started by the test.

The server returns scripted ``/v1/chat/completions`` answers (a tool call, then a reply), so the
real ``ChatOpenAI`` client, its tool-call parsing, ``create_agent`` and the tools all run; what
the server received is checked too: the tools offered, the sampling options, and a system prompt
rebuilt from the session's registry on every turn.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from agent import ChatAgent, SamplingOptions
from engine import Editor
from imgedit.config import get_settings
from tests.agent_helpers import png_bytes, scene
from tests.openai_standin import ChatCompletionsServer


class ScriptedServer(ChatCompletionsServer):
    """Answers chat completions from a script; records every request body."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.parse_requests = 0
        super().__init__(self._respond)

    def _respond(self, body: dict[str, Any], request: BaseHTTPRequestHandler) -> dict[str, Any]:
        if "tools" not in body:
            # The engine's instruction parser asks the same server (IMGEDIT_LLM=openai); an
            # answer without a plan makes it fall back to its rules, as with a weak model.
            self.parse_requests += 1
            return say("I am not sure.")
        self.requests.append({"path": request.path, "auth": request.headers.get("Authorization"), **body})
        return self.script.pop(0)


def tool_call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        ],
    }


def say(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def plan_with(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``server`` the openai planner of agents built from now on."""
    monkeypatch.setenv("IMGEDIT_LLM", "openai")
    monkeypatch.setenv("IMGEDIT_LLM_BASE_URL", server.url)
    monkeypatch.setenv("IMGEDIT_LLM_MODEL", "Qwen2.5-7B-Instruct")
    get_settings.cache_clear()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    script = [
        tool_call("edit_image", {"instruction": "Make the red dress blue"}, "call_1"),
        say("I made the red dress blue."),
        tool_call(
            "edit_image", {"instruction": "Make the blue dress green", "target_entity": "ENTITY"}, "call_2"
        ),
        say("I changed the blue dress from edit 1 to green."),
        tool_call("undo", {}, "call_3"),
        say("Undone."),
    ]
    with ScriptedServer(script) as srv:
        plan_with(srv, monkeypatch)
        yield srv


def test_openai_planner_calls_tools_through_a_real_client(server: ScriptedServer) -> None:
    agent = ChatAgent(
        editor=Editor(engine="classic"),
        sampling=SamplingOptions(temperature=0.3, top_k=20, max_new_tokens=256),
    )
    session = agent.new_session()
    agent.attach(session, png_bytes(scene()), name="scene.png")

    first = agent.send(session, "Make the red dress blue")
    assert first.tool_calls == [{"name": "edit_image", "args": {"instruction": "Make the red dress blue"}}]
    assert first.reply == "I made the red dress blue."
    v1 = agent.store.version(first.version_id or "")
    assert (v1.number, v1.resolved_instruction) == (1, "Make the red dress blue")
    dress = agent.store.entities(session)[0]
    assert dress.name == "blue dress"

    # The model names the registry entity it resolved "that dress" to; the script learns its id now.
    server.script[0]["tool_calls"][0]["function"]["arguments"] = json.dumps(
        {"instruction": "Make the blue dress green", "target_entity": dress.id}
    )
    second = agent.send(session, "Make that dress green")
    v2 = agent.store.version(second.version_id or "")
    assert (v2.number, v2.parent_id, v2.resolution["entity"]["name"]) == (2, v1.id, "blue dress")
    third = agent.send(session, "undo")
    assert third.tool_calls[0]["name"] == "undo" and third.version_id == v1.id

    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer EMPTY"
    assert request["model"] == "Qwen2.5-7B-Instruct"
    assert request["temperature"] == 0.3 and request["top_k"] == 20
    assert 256 in (request.get("max_tokens"), request.get("max_completion_tokens"))
    assert {t["function"]["name"] for t in request["tools"]} >= {
        "edit_image",
        "apply_theme",
        "undo",
        "redo",
        "revert",
        "list_versions",
        "describe_image",
        "compare_versions",
    }
    system = next(m for m in request["messages"] if m["role"] == "system")["content"]
    assert "Known objects" in system and "- none yet" in system
    # Turn two's prompt was rebuilt from the registry: it lists the blue dress from edit 1.
    system2 = next(m for m in server.requests[2]["messages"] if m["role"] == "system")["content"]
    assert f"{dress.id}: blue dress [clothing/dress], image 1, edit 1" in system2
    # The tool result went back to the model as a tool message with the outcome.
    tool_message = next(m for m in server.requests[1]["messages"] if m["role"] == "tool")
    assert json.loads(tool_message["content"])["version"] == 1
    assert server.parse_requests == 2  # one per edit


def calls(*named: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    """One assistant message with several tool calls (a model ignoring parallel_tool_calls)."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for name, args, call_id in named
        ],
    }


def test_openai_planner_runs_a_turn_of_several_actions_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    script = [
        tool_call("edit_image", {"instruction": "把红色连衣裙换成蓝色"}, "call_1"),
        say("已将红色连衣裙换成蓝色。"),
        # "撤销并把背景换成浅灰色": one call per message, in the user's order.
        tool_call("undo", {}, "call_2"),
        tool_call("edit_image", {"instruction": "把背景换成浅灰色"}, "call_3"),
        say("已撤销，并已将背景换成浅灰色。"),
        # "给她戴一顶红帽子，然后撤销", sent as two calls at once: only the first runs; it fails (a
        # generative edit on the classic engine; a recolour of the one object would now succeed),
        # so the undo the model asks for next is not run either.
        calls(("edit_image", {"instruction": "给她戴上一顶红色的帽子"}, "call_4"), ("undo", {}, "call_5")),
        tool_call("undo", {}, "call_6"),
        say("没能把帽子换成红色，所以也没有撤销。"),
    ]
    with ScriptedServer(script) as server:
        plan_with(server, monkeypatch)
        agent = ChatAgent(editor=Editor(engine="classic"))
        session = agent.new_session()
        agent.attach(session, png_bytes(scene()), name="scene.png")
        agent.send(session, "把红色连衣裙换成蓝色")
        mixed = agent.send(session, "撤销并把背景换成浅灰色")
        failed = agent.send(session, "把帽子换成红色，然后撤销")

    assert [c["name"] for c in mixed.tool_calls] == ["undo", "edit_image"]
    assert [o["ok"] for o in mixed.outcomes] == [True, True]
    image = agent.store.images(session)[0]
    versions = {v.id: v for v in agent.store.versions(image.id)}
    graph = {v.number: (versions[v.parent_id].number if v.parent_id else None) for v in versions.values()}
    assert graph == {0: None, 1: 0, 2: 0}  # the edit started from the version the undo went back to
    assert mixed.reply == "已撤销，并已将背景换成浅灰色。"

    assert [c["name"] for c in failed.tool_calls] == ["edit_image", "undo"]  # call_5 was dropped
    assert [o["ok"] for o in failed.outcomes] == [False, False]
    assert failed.outcomes[1]["error"]["code"] == "skipped"
    assert agent.store.head(image.id).number == 2  # the undo did not run
    assert all(request["parallel_tool_calls"] is False for request in server.requests)
    system = next(m for m in server.requests[0]["messages"] if m["role"] == "system")["content"]
    assert "select_image" in system and "one tool call at a time" in system.replace("\n", " ")
