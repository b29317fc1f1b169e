"""The rules of a turn with several actions, for any planner: one tool call at a time, in order,
and nothing after a step that failed.

The rules planner plans that way itself. A language model may answer with several tool calls in
one message, which ``create_agent`` would run at once and in no set order ("undo" racing the
edit that was meant to follow it), so it is asked for one call per message
(``parallel_tool_calls=False``) and, should it send more anyway, only the first runs: the model
sees that result and calls the next. A call made after a failed step of the same turn does not
run; it is answered with a ``skipped`` outcome, so "undo, then edit" never edits the wrong
version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import ModelRequest, ModelResponse, wrap_model_call, wrap_tool_call
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from tools.outcome import ToolOutcome


def _failed(message: ToolMessage) -> bool:
    if isinstance(message.artifact, dict):
        return not message.artifact.get("ok", True)
    return message.status == "error"


def failed_earlier(messages: list[Any]) -> bool:
    """True when a tool call of the current turn (after the last user message) failed."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return False
        if isinstance(message, ToolMessage) and _failed(message):
            return True
    return False


@wrap_tool_call  # type: ignore[arg-type]
def stop_after_failure(
    request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]]
) -> ToolMessage | Command[Any]:
    """Run the call unless an earlier step of this turn failed."""
    state = request.state
    messages = state.get("messages", []) if isinstance(state, dict) else getattr(state, "messages", [])
    if not failed_earlier(messages):
        return handler(request)
    call = request.tool_call
    outcome = ToolOutcome(
        ok=False,
        action=call["name"],
        message="Not run: an earlier step of this turn failed.",
        error={"code": "skipped", "message": "Not run: an earlier step of this turn failed."},
    )
    return ToolMessage(
        content=outcome.content(),
        artifact=outcome.model_dump(),
        tool_call_id=call["id"] or "",
        name=call["name"],
        status="error",
    )


@wrap_model_call  # type: ignore[arg-type]
def one_call_at_a_time(
    request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
) -> ModelResponse:
    """Ask the model for one tool call per message and keep only the first if it sends more."""
    response = handler(
        request.override(model_settings={**request.model_settings, "parallel_tool_calls": False})
    )
    trimmed = []
    for message in response.result:
        if isinstance(message, AIMessage) and len(message.tool_calls) > 1:
            message = message.model_copy(update={"tool_calls": message.tool_calls[:1]})
        trimmed.append(message)
    return ModelResponse(result=trimmed, structured_response=response.structured_response)
