"""``ChatAgent``: the conversation loop over ``create_agent``, the tools and the session store.

One compiled agent serves every session: the session is the checkpointer's ``thread_id`` (so a
conversation resumes after a restart) and the tools' runtime context (so a tool can only touch
the session of the turn). Each turn is recorded in the session's messages with what the tools
did, and returned as a ``Turn`` (the CLI's ``--json`` line and the HTTP reply).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ModelRequest, dynamic_prompt
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.checkpoints import default_checkpointer
from agent.memory import forget_old_turns, prune_checkpoints
from agent.planners import SamplingOptions, build_planner
from agent.prompts import build_system_prompt
from agent.rules import RulesChatModel
from agent.session_view import load_view
from agent.turn_guard import one_call_at_a_time, stop_after_failure
from engine import Editor
from engine.imageio import load_image
from engine.types import CancelToken
from imgedit.config import Settings, get_settings
from imgedit.errors import ImgEditError
from sessions import DEFAULT_TENANT, ImageInfo, SessionStore, VersionInfo
from tools import SessionTools, ToolContext, all_tools


@dataclass
class Turn:
    """What one message produced; ``to_json`` is the contract's ``--json`` line."""

    reply: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    resolved_instruction: str | None = None
    image_id: str | None = None
    version_id: str | None = None
    image_path: str | None = None
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    engine_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("outcomes", "seconds", "engine_seconds"):
            data.pop(key)
        return data


@dynamic_prompt
def session_prompt(request: ModelRequest) -> str:
    """The system prompt with the session's current images, versions and registry."""
    ctx: ToolContext = request.runtime.context  # type: ignore[assignment]
    return build_system_prompt(load_view(ctx.store, ctx.session_id))


class ChatAgent:
    """Hold conversations about images: ``attach`` images, ``send`` messages, get ``Turn``s."""

    def __init__(
        self,
        store: SessionStore | None = None,
        editor: Editor | None = None,
        *,
        planner: BaseChatModel | str | None = None,
        checkpointer: BaseCheckpointSaver | None = None,
        settings: Settings | None = None,
        sampling: SamplingOptions | None = None,
        seed: int | None = 0,
    ) -> None:
        self.settings = settings or get_settings()
        self.store = store or SessionStore(settings=self.settings)
        self.editor = editor or Editor(settings=self.settings)
        if planner is None or isinstance(planner, str):
            planner = build_planner(planner, settings=self.settings, sampling=sampling)
        self.planner = planner
        self.checkpointer = checkpointer or default_checkpointer(self.store.engine, self.settings)
        self.seed = seed
        # The rules planner reads the session itself and never reads a system prompt; building
        # one from the store before each of its calls would be wasted queries. It also plans one
        # call at a time and stops at a failed step itself; a language model is held to that.
        middleware = (
            []
            if isinstance(planner, RulesChatModel)
            else [session_prompt, one_call_at_a_time, stop_after_failure]
        )
        self.graph: Any = create_agent(  # type: ignore[misc]
            planner,
            all_tools(),
            middleware=middleware,
            context_schema=ToolContext,
            checkpointer=self.checkpointer,
        )

    # -- sessions and images ---------------------------------------------------------------

    def new_session(self, *, tenant: str = DEFAULT_TENANT, title: str = "") -> str:
        return self.store.create_session(tenant=tenant, title=title).id

    def attach(
        self, session_id: str, source: str | Path | bytes, *, name: str = ""
    ) -> tuple[ImageInfo, VersionInfo]:
        """Attach an image file (or bytes) to the session; checked like every input image."""
        # Decoded only to refuse unusable input with a clear error; the bytes are kept as uploaded.
        load_image(source, max_pixels=self.settings.max_image_pixels)
        if isinstance(source, str | Path):
            name = name or Path(source).name
            source = Path(source).read_bytes()
        image, version = self.store.add_image(session_id, source, name=name)
        self.store.add_message(
            session_id, "user", f"/attach {name}", {"image_id": image.id, "version_id": version.id}
        )
        return image, version

    # -- conversation ----------------------------------------------------------------------

    def send(
        self,
        session_id: str,
        text: str,
        *,
        image_ids: list[str] | None = None,
        turn_id: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> Turn:
        """Run one user message through the agent and record it.

        ``turn_id`` (the job that runs the turn) makes the turn's effects happen once: sent again
        with the same id, as when a job re-runs after a crash, the user's message is not recorded
        twice, a conversation step already taken is resumed from the checkpoint rather than
        replayed, an edit already made is found rather than made again (tools/session_edit.py),
        and a turn already finished is answered from its recorded reply.
        """
        started = time.perf_counter()
        if turn_id is not None:
            answered = self._recorded_turn(session_id, turn_id)
            if answered is not None:
                return answered
        # Also the check that the session exists (NotFoundError otherwise).
        data: dict[str, Any] = {"image_ids": image_ids} if image_ids else {}
        if turn_id is None or not self._has_message(session_id, "user", turn_id):
            self.store.add_message(
                session_id, "user", text, {**data, "turn_id": turn_id} if turn_id else data
            )
        context = ToolContext(
            session_id=session_id,
            store=self.store,
            editor=self.editor,
            user_text=text,
            seed=self.seed,
            image_ids=tuple(image_ids or ()),
            job_id=turn_id,
            progress=progress,
            cancel=cancel,
        )
        config: Any = {"configurable": {"thread_id": session_id}}
        message_id = f"turn-{turn_id}" if turn_id else None
        state = self.graph.get_state(config) if turn_id else None
        if state is not None and any(m.id == message_id for m in state.values.get("messages", [])):
            # The turn started before (its job is re-running): go on from its last checkpoint.
            result = (
                self.graph.invoke(None, config=config, context=context, durability="sync")
                if state.next
                else state.values
            )
        else:
            keep = self.settings.agent_memory_turns
            if state is not None:
                earlier = state.values.get("messages", [])
            elif self.store.message_count(session_id, "user") > keep:
                earlier = self.history(session_id)
            else:
                earlier = []  # the session has said no more than the window holds: nothing to read
            forgotten = forget_old_turns(earlier, keep)
            result = self.graph.invoke(
                {"messages": [*forgotten, HumanMessage(content=text, id=message_id)]},
                config=config,
                context=context,
                # Each step is on disk before the next starts, so a re-run resumes exactly there.
                durability="sync" if turn_id else None,
            )
        turn = _turn_from(result["messages"])
        _remember_image(context, turn)
        turn.seconds = time.perf_counter() - started
        answer = turn.to_json()
        self.store.add_message(
            session_id, "assistant", turn.reply, {**answer, "turn_id": turn_id} if turn_id else answer
        )
        prune_checkpoints(self.checkpointer, session_id)
        return turn

    def _has_message(self, session_id: str, role: str, turn_id: str) -> bool:
        return self.store.turn_message(session_id, role, turn_id) is not None

    def _recorded_turn(self, session_id: str, turn_id: str) -> Turn | None:
        """The turn ``turn_id`` as its recorded reply, if it was finished before."""
        message = self.store.turn_message(session_id, "assistant", turn_id)
        if message is None:
            return None
        fields = {k: v for k, v in message.data.items() if k in Turn.__dataclass_fields__}
        return Turn(**fields)

    def history(self, session_id: str) -> list[BaseMessage]:
        """The conversation as the checkpointer holds it (what the planner sees next turn)."""
        state = self.graph.get_state({"configurable": {"thread_id": session_id}})  # type: ignore[arg-type]
        return list(state.values.get("messages", []))


#: Tools whose success moves an image's head (or selects it): that image is current already.
_MOVES_HEAD = frozenset({"edit_image", "apply_theme", "undo", "redo", "revert", "select_image"})


def _remember_image(context: ToolContext, turn: Turn) -> None:
    """The image the turn's last step was about is the one "it" means in the next message. A
    step that moved a head has made its image current already; one that failed ("把第一张的帽子
    换成红色" refused) or only looked (describe, history, compare) is recorded as a switch."""
    ran = [
        (call, outcome)
        for call, outcome in zip(turn.tool_calls, turn.outcomes, strict=False)
        if (outcome.get("error") or {}).get("code") != "skipped"
    ]
    if not ran:
        return
    call, outcome = ran[-1]
    if outcome.get("ok") and call["name"] in _MOVES_HEAD:
        return
    wanted = outcome.get("image_id") if outcome.get("ok") else None
    if wanted is None:
        if not call["args"].get("image"):
            return  # it was the current image
        try:
            wanted = SessionTools(context).find_image(call["args"]["image"]).id
        except ImgEditError:
            return
    active = context.store.active_image(context.session_id)
    if active is None or active.id != wanted:
        context.store.select_image(wanted)


def _turn_from(messages: list[BaseMessage]) -> Turn:
    """The turn's part of the conversation: everything after the last user message."""
    start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    new = messages[start + 1 :]
    turn = Turn(reply="")
    for message in new:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                turn.tool_calls.append({"name": call["name"], "args": call["args"]})
            if message.content and not message.tool_calls:
                turn.reply = str(message.content)
        elif isinstance(message, ToolMessage) and isinstance(message.artifact, dict):
            outcome = message.artifact
            turn.outcomes.append(outcome)
            if outcome.get("ok"):
                turn.image_id = outcome.get("image_id") or turn.image_id
                turn.version_id = outcome.get("version_id") or turn.version_id
                turn.image_path = outcome.get("image_path") or turn.image_path
                if outcome.get("resolved_instruction"):
                    turn.resolved_instruction = outcome["resolved_instruction"]
                turn.engine_seconds += float((outcome.get("data") or {}).get("engine_seconds", 0.0))
    return turn
