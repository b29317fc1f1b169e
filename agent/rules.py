"""The ``rules`` planner: an offline chat model that plans tool calls from the engine's parser
and the reference resolver, and writes the reply from the tools' outcomes.

It is a real ``BaseChatModel`` so that ``create_agent`` drives it exactly as it drives an LLM:
``bind_tools`` is accepted, and ``_stream`` yields ``AIMessageChunk``s whose ``tool_call_chunks``
carry the calls (LangChain's fake chat models drop tool calls when streaming). It reads the
session through the runtime context (the same ``ToolContext`` the tools get).

Per turn: a user message becomes either tool calls or a direct reply (help, "attach an image
first", or a "which one?" question); after the tools answer, it writes one reply in the user's
language that says how each reference was resolved and what was done.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.runtime import get_runtime

from agent import replies
from agent.image_roles import ImageRoles, answer_images, find_image_roles, name_images
from agent.intents import EDIT_VERB, Intent, detect_intent
from agent.navigation import TurnStep, split_turn
from agent.references import (
    NEXT_VERSION,
    PREVIOUS_VERSION,
    REFERENCE_PATTERNS,
    ReferenceResolver,
    Resolution,
    SessionView,
)
from agent.session_view import load_view
from engine.parsing import parse_instruction
from engine.plan import GEOMETRY_KINDS, WHOLE_IMAGE_KINDS
from imgedit.errors import ImgEditError
from sessions import ImageInfo
from tools.context import ToolContext
from tools.entities import REMOVAL_WORDS

#: Key in ``AIMessage.additional_kwargs`` for what the planner must remember between turns.
STATE_KEY = "imgedit"

_ZH_AROUND = r"(?:在|从|用|基于)?(?:{ref})(?:上面|上|里|中|的|开始|基础上)*[，,、]?"
_EN_AROUND = (
    r"(?:,?\s*\b(?:starting from|start from|based on|from|in|on|of|to|using|use)\s+)?(?:{ref})(?:\s*,)?"
    r"(?:\s+(?:and|then)\b)?"
)


def strip_references(text: str) -> str:
    """The instruction without the words that chose the image or version ("在原图上", "in the
    second image"): those were resolved into tool arguments and would confuse the parser."""
    out = text
    for ref in REFERENCE_PATTERNS:
        zh = re.compile(_ZH_AROUND.format(ref=ref.pattern), re.IGNORECASE)
        en = re.compile(_EN_AROUND.format(ref=ref.pattern), re.IGNORECASE)
        out = zh.sub("", out) if replies.language_of(out) == "zh" else en.sub("", out)
    out = re.sub(r"\s{2,}", " ", out).strip(" ,，")
    return out[:1].upper() + out[1:] if out and out[0].isascii() else out


class RulesChatModel(BaseChatModel):
    """Offline planner; see the module docstring."""

    @property
    def _llm_type(self) -> str:
        return "imgedit-rules"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> RulesChatModel:  # type: ignore[override]
        """Tools are known by name; the planner calls only the imgedit tools."""
        return self

    # -- LangChain entry points ------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._respond(messages)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._respond(messages)
        if message.tool_calls:
            chunks = [
                tool_call_chunk(
                    name=call["name"],
                    args=json.dumps(call["args"], ensure_ascii=False),
                    id=call["id"],
                    index=i,
                )
                for i, call in enumerate(message.tool_calls)
            ]
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=chunks,
                    additional_kwargs=message.additional_kwargs,  # type: ignore[arg-type]
                )
            )
            return
        text = str(message.content)
        pieces = re.findall(r".{1,24}", text, flags=re.DOTALL) or [""]
        for index, piece in enumerate(pieces):
            extra = message.additional_kwargs if index == 0 else {}
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece, additional_kwargs=extra))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    # -- planning --------------------------------------------------------------------------

    def _respond(self, messages: list[BaseMessage]) -> AIMessage:
        if messages and isinstance(messages[-1], ToolMessage):
            return self._reply_after_tools(messages)
        human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        text = str(human.content).strip() if human is not None else ""
        return self._plan(text, messages)

    def _plan(self, text: str, messages: list[BaseMessage]) -> AIMessage:
        ctx = get_runtime(ToolContext).context
        language = replies.language_of(text)
        themes = theme_words()
        intent = detect_intent(text, themes)
        if intent.kind == "help":
            return AIMessage(content=replies.help_text(language))
        view = load_view(ctx.store, ctx.session_id, ctx.image_ids[0] if ctx.image_ids else None)
        if not view.images:
            return AIMessage(content=replies.need_image(language))
        resolver = ReferenceResolver(view)

        state = _pending_state(messages)
        rest = list(state.get("rest") or [])
        image_question = state.get("clarify_image")
        if image_question is not None:
            chosen_images = answer_images(
                text, [i for i in view.images if i.position in image_question["candidates"]]
            )
            if len(chosen_images) == image_question["needed"]:
                start, end = image_question["span"]
                asked = image_question["text"]
                answered = (
                    asked[:start] + name_images(chosen_images, replies.language_of(asked)) + asked[end:]
                )
                asked_language = replies.language_of(asked)
                message = self._edit(answered, resolver, asked_language)
                return self._continue(message, asked, rest, resolver, asked_language)
        pending = state.get("clarify")
        if pending is not None:
            by_id = {e.id: e for e in view.entities}
            candidates = [by_id[i] for i in pending["candidates"] if i in by_id]
            chosen = resolver.pick(text, candidates)
            if chosen is not None:
                span = tuple(pending["span"]) if pending.get("span") else None
                resolution = resolver.resolve(pending["text"], choose=chosen, choose_span=span)  # type: ignore[arg-type]
                resolution = _name_removal(pending["text"], resolution)
                asked_language = replies.language_of(pending["text"])
                message = self._edit_call(pending["text"], resolution, len(view.images))
                return self._continue(message, pending["text"], rest, resolver, asked_language)

        steps = [step.to_state() for step in split_turn(text, themes)]
        return self._next(steps, resolver, language)

    def _next(self, steps: list[dict[str, Any]], resolver: ReferenceResolver, language: str) -> AIMessage:
        """The first of the turn's remaining ``steps`` as one tool call, the others kept in the
        message's state for after its result; or the reply when it cannot run (a refusal, or a
        question, which keeps the rest for after the answer)."""
        step, rest = steps[0], steps[1:]
        if step["kind"] == "call":
            refused = _precheck(step["name"], step["args"], resolver.view, language)
            if refused is not None:
                return AIMessage(content=_stopped(refused, rest, language))
            return _go_on(_calls([(step["name"], step["args"])]), step["text"], rest, language)
        message = self._step(TurnStep.from_state(step), resolver, language)
        if not message.tool_calls and not message.additional_kwargs.get(STATE_KEY):
            return AIMessage(content=_stopped(str(message.content), rest, language))
        return self._continue(message, step["text"], rest, resolver, language)

    def _continue(
        self,
        message: AIMessage,
        text: str,
        rest: list[dict[str, Any]],
        resolver: ReferenceResolver,
        language: str,
    ) -> AIMessage:
        """A step's planned ``message`` followed by the ``rest`` of the turn: its calls run one
        at a time before the rest; a question keeps the rest for after the answer."""
        if not message.tool_calls:
            return _go_on(message, text, rest, language)
        calls = [
            {"kind": "call", "text": text, "name": call["name"], "args": call["args"]}
            for call in message.tool_calls
        ]
        return self._next(calls + rest, resolver, language)

    def _step(self, step: TurnStep, resolver: ReferenceResolver, language: str) -> AIMessage:
        """One step as tool calls (several for "go back two steps" or a switch of image), or a
        direct reply."""
        text, view = step.text, resolver.view
        missing = resolver.missing_image(text)
        if missing is not None:
            return AIMessage(content=_missing_image(text, missing, view, language))
        named = resolver.find_images(text)
        image = named[0][1] if named else view.active
        assert image is not None
        if step.kind == "undo":
            return _calls([("undo", {"image": str(image.position)})] * step.count)
        if step.kind == "redo":
            return _calls([("redo", {"image": str(image.position)})])
        if step.kind == "image":
            return _calls([("select_image", {"image": str(image.position)})])
        if step.kind == "version":
            version = resolver.find_version(text, image)
            if version is None:
                return AIMessage(content=_missing_version(text, image, view, language))
            return _calls([("revert", {"version": str(version.number), "image": str(image.position)})])
        return self._request(text, resolver, language)

    def _request(self, text: str, resolver: ReferenceResolver, language: str) -> AIMessage:
        """A step that is not navigation: an edit, a theme, history, describe or compare."""
        intent = detect_intent(text, theme_words())
        if intent.kind in ("undo", "redo", "list"):
            named = resolver.find_images(text)
            args = {"image": str(named[0][1].position)} if named else {}
            name = {"undo": "undo", "redo": "redo", "list": "list_versions"}[intent.kind]
            return _calls([(name, args)])
        if intent.kind == "revert":
            return self._revert(text, resolver, language)
        if intent.kind in ("describe", "compare"):
            resolution = resolver.resolve(text, whole_image=True)
            args = {"image": str(resolution.image.position)} if resolution.image else {}
            if intent.kind == "describe":
                if resolution.from_version is not None:
                    args["version"] = str(resolution.from_version.number)
                return _calls([("describe_image", args)])
            if resolution.from_version is not None:
                args["a"] = str(resolution.from_version.number)
            return _calls([("compare_versions", args)])
        if intent.kind == "theme":
            return self._theme(text, intent, resolver)
        return self._edit(text, resolver, language)

    def _revert(self, text: str, resolver: ReferenceResolver, language: str) -> AIMessage:
        resolution = resolver.resolve(text, whole_image=True)
        assert resolution.image is not None
        if resolution.from_version is None:
            if re.search(r"改回|换回|undo|撤", text):
                return _calls([("undo", {"image": str(resolution.image.position)})])
            question = (
                "要回到哪一版？可以说“原图”“上一版”或“第3版”，或用 /history 查看。"
                if language == "zh"
                else "Which version should I go back to? Say 'the original', 'the previous version' or "
                "'version 3' (see /history)."
            )
            return AIMessage(content=question)
        args = {"version": str(resolution.from_version.number), "image": str(resolution.image.position)}
        return _calls([("revert", args)])

    def _theme(self, text: str, intent: Intent, resolver: ReferenceResolver) -> AIMessage:
        resolution = resolver.resolve(text, whole_image=True)
        args: dict[str, Any] = {"theme": intent.theme}
        if resolution.image is not None:
            args["image"] = str(resolution.image.position)
        if resolution.from_version is not None:
            args["from_version"] = str(resolution.from_version.number)
        return _calls([("apply_theme", args)])

    def _edit(self, text: str, resolver: ReferenceResolver, language: str) -> AIMessage:
        roles = find_image_roles(text, resolver.view)
        if roles is not None:
            return self._multi_image_call(text, roles, language)
        removal = bool(REMOVAL_WORDS.search(text))
        resolution = _name_removal(
            text, resolver.resolve(text, whole_image=_is_whole_image(text), removal=removal)
        )
        if resolution.ambiguous:
            candidates = [
                {"id": c.entity.id, "name": c.entity.name, "image": c.image, "version": c.version}
                for c in resolution.candidates
            ]
            state = {
                "clarify": {
                    "text": text,
                    "span": resolution.span,
                    "candidates": [c["id"] for c in candidates],
                }
            }
            return AIMessage(
                content=replies.clarification(candidates, language), additional_kwargs={STATE_KEY: state}
            )
        return self._edit_call(text, resolution, len(resolver.view.images))

    @staticmethod
    def _multi_image_call(text: str, roles: ImageRoles, language: str) -> AIMessage:
        """An edit that uses other images as references, or the question of which images."""
        if roles.ambiguous:
            state = {
                "clarify_image": {
                    "text": text,
                    "span": list(roles.span or ()),
                    "needed": roles.needed,
                    "candidates": [image.position for image in roles.candidates],
                }
            }
            question = replies.which_image(
                [image.position for image in roles.candidates], roles.needed, language
            )
            return AIMessage(content=question, additional_kwargs={STATE_KEY: state})
        assert roles.target is not None
        args: dict[str, Any] = {
            "instruction": roles.instruction,
            "image": str(roles.target.position),
            "reference_images": [str(image.position) for image in roles.references],
        }
        return _calls([("edit_image", args)])

    @staticmethod
    def _edit_call(text: str, resolution: Any, image_count: int) -> AIMessage:
        args: dict[str, Any] = {
            "instruction": strip_references(resolution.instruction) or resolution.instruction
        }
        if resolution.image is not None and image_count > 1:
            args["image"] = str(resolution.image.position)
        if resolution.from_version is not None:
            args["from_version"] = str(resolution.from_version.number)
        if resolution.entity is not None:
            args["target_entity"] = resolution.entity.id
        if resolution.image is not None and "image" not in args and image_count == 1:
            args["image"] = str(resolution.image.position)
        if resolution.switched and resolution.image is not None:
            # The object is on another image: switch to it first, so the reply says so.
            return _calls([("select_image", {"image": str(resolution.image.position)}), ("edit_image", args)])
        return _calls([("edit_image", args)])

    # -- replying --------------------------------------------------------------------------

    def _reply_after_tools(self, messages: list[BaseMessage]) -> AIMessage:
        """After a tool result: the turn's next step, or the reply reporting every step (and,
        after a failure, what was not done)."""
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        turn = messages[start + 1 :]
        asked = next(m for m in reversed(turn) if isinstance(m, AIMessage) and m.tool_calls)
        state = dict(asked.additional_kwargs.get(STATE_KEY) or {})
        language = state.get("language") or replies.language_of(str(messages[start].content))
        rest: list[dict[str, Any]] = list(state.get("rest") or [])
        outcomes = [_outcome(m) for m in turn if isinstance(m, ToolMessage)]
        ctx = get_runtime(ToolContext).context
        if outcomes[-1].get("ok", True) and rest:
            # The image the previous step acted on is the current one for the next.
            view = load_view(ctx.store, ctx.session_id, outcomes[-1].get("image_id"))
            following = self._next(rest, ReferenceResolver(view), language)
            if following.tool_calls:
                return following
            said = [_sentence(o, language, ctx) for o in outcomes]
            return AIMessage(
                content="\n".join([*said, str(following.content)]),
                additional_kwargs=following.additional_kwargs,
            )
        said = [_sentence(o, language, ctx) for o in outcomes]
        if not outcomes[-1].get("ok", True) and rest:
            said.append(replies.not_done(_texts(rest), language))
        return AIMessage(content="\n".join(said))


def _calls(calls: list[tuple[str, dict[str, Any]]]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}"} for name, args in calls
        ],
    )


def _go_on(message: AIMessage, text: str, rest: list[dict[str, Any]], language: str) -> AIMessage:
    """``message`` carrying the turn's remaining steps in its state (nothing when none remain,
    so a one-step turn is planned exactly as before)."""
    if rest:
        state = dict(message.additional_kwargs.get(STATE_KEY) or {})
        state.update(rest=rest, language=language)
        message.additional_kwargs[STATE_KEY] = state
    return message


def _texts(steps: list[dict[str, Any]]) -> list[str]:
    """The user's words of ``steps``, each once (a step may have become several calls)."""
    seen: list[str] = []
    for step in steps:
        if step["text"] not in seen:
            seen.append(step["text"])
    return seen


def _stopped(reason: str, rest: list[dict[str, Any]], language: str) -> str:
    """A step that cannot be done, and the steps after it that therefore were not."""
    return reason + ("\n" + replies.not_done(_texts(rest), language) if rest else "")


def _sentence(outcome: dict[str, Any], language: str, ctx: ToolContext) -> str:
    """The reply sentence for one outcome; an edit's reads the plan its version recorded."""
    operations = None
    if outcome.get("ok", True) and outcome.get("action") in ("edit_image", "apply_theme"):
        plan = ctx.store.version(outcome["version_id"]).plan or {}
        operations = list(plan.get("operations") or [])
    return replies.describe_outcome(outcome, language, operations)


def _precheck(name: str, args: dict[str, Any], view: SessionView, language: str) -> str | None:
    """Why a navigation call cannot run, in the user's language, before it is made."""
    if name not in ("undo", "redo"):
        return None
    image = next((i for i in view.images if str(i.position) == args.get("image")), view.active)
    if image is None:
        return None
    if name == "undo" and view.heads[image.id].parent_id is None:
        return replies.refusal("nothing_to_undo", language, image=image.position)
    if name == "redo" and not image.redo_stack:
        return replies.refusal("nothing_to_redo", language, image=image.position)
    return None


def _missing_image(text: str, position: int, view: SessionView, language: str) -> str:
    current = view.active.position if view.active is not None else 1
    if ReferenceResolver.names_relative_image(text) and position in (current - 1, current + 1):
        return replies.refusal("first_image" if position < current else "last_image", language, image=current)
    return replies.refusal("no_image", language, count=len(view.images), position=position)


def _missing_version(text: str, image: ImageInfo, view: SessionView, language: str) -> str:
    head = view.heads[image.id]
    last = max(v.number for v in view.versions[image.id])
    if PREVIOUS_VERSION.search(text):
        return replies.refusal("no_previous_version", language, image=image.position)
    if NEXT_VERSION.search(text):
        return replies.refusal("no_next_version", language, image=image.position, version=head.number)
    return replies.refusal("no_version", language, image=image.position, count=last + 1, last=last)


def _outcome(message: ToolMessage) -> dict[str, Any]:
    if isinstance(message.artifact, dict):
        return message.artifact
    try:
        data = json.loads(str(message.content))
        return data if isinstance(data, dict) else {"message": str(message.content)}
    except json.JSONDecodeError:
        return {"ok": message.status != "error", "action": message.name, "message": str(message.content)}


def _pending_state(messages: list[BaseMessage]) -> dict[str, Any]:
    """What the previous turn left to answer ("which one?" about an object, ``clarify``, or about
    images, ``clarify_image``), if the last assistant message was such a question."""
    for message in reversed(messages[:-1]):
        if isinstance(message, AIMessage):
            return dict(message.additional_kwargs.get(STATE_KEY) or {})
    return {}


def _name_removal(text: str, resolution: Resolution) -> Resolution:
    """A removal of a known entity with a box reads "remove the "SALE" badge" / "把“新品上市”标签去掉":
    the tool removes that box, and the instruction names what goes."""
    entity = resolution.entity
    if entity is not None and entity.box and REMOVAL_WORDS.search(text):
        zh = replies.language_of(text) == "zh"
        resolution.instruction = f"把{entity.name}去掉" if zh else f"remove the {entity.name}"
    return resolution


def _is_whole_image(text: str) -> bool:
    """True when the parsed edit changes the whole picture, so "it" means the image itself."""
    try:
        plan = parse_instruction(text)
    except ImgEditError:
        return False
    return all(kind in WHOLE_IMAGE_KINDS or kind in GEOMETRY_KINDS for kind in plan.kinds)


def theme_words() -> dict[str, str]:
    """Every word naming a theme (slug, both names, aliases) -> the theme's slug."""
    from engine.themes import list_themes

    words: dict[str, str] = {}
    for theme in list_themes():
        for key in theme.keys:
            words[key] = theme.name
    return words


__all__ = ["EDIT_VERB", "RulesChatModel", "strip_references"]
