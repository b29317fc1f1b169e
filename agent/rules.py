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
from agent.references import REFERENCE_PATTERNS, ReferenceResolver, Resolution
from agent.session_view import load_view
from engine.parsing import parse_instruction
from engine.plan import GEOMETRY_KINDS, WHOLE_IMAGE_KINDS
from imgedit.errors import ImgEditError
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
        intent = detect_intent(text, theme_words())
        if intent.kind == "help":
            return AIMessage(content=replies.help_text(language))
        view = load_view(ctx.store, ctx.session_id, ctx.image_ids[0] if ctx.image_ids else None)
        if not view.images:
            return AIMessage(content=replies.need_image(language))
        resolver = ReferenceResolver(view)

        state = _pending_state(messages)
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
                return self._edit(answered, resolver, replies.language_of(asked))
        pending = state.get("clarify")
        if pending is not None:
            by_id = {e.id: e for e in view.entities}
            candidates = [by_id[i] for i in pending["candidates"] if i in by_id]
            chosen = resolver.pick(text, candidates)
            if chosen is not None:
                span = tuple(pending["span"]) if pending.get("span") else None
                resolution = resolver.resolve(pending["text"], choose=chosen, choose_span=span)  # type: ignore[arg-type]
                resolution = _name_removal(pending["text"], resolution)
                return self._edit_call(pending["text"], resolution, len(view.images))

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
        return _calls([("edit_image", args)])

    # -- replying --------------------------------------------------------------------------

    def _reply_after_tools(self, messages: list[BaseMessage]) -> AIMessage:
        outcomes: list[dict[str, Any]] = []
        for message in reversed(messages):
            if isinstance(message, ToolMessage):
                outcomes.insert(0, _outcome(message))
            else:
                break
        human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        language = replies.language_of(str(human.content) if human else "")
        text = "\n".join(replies.describe_outcome(o, language) for o in outcomes)
        return AIMessage(content=text)


def _calls(calls: list[tuple[str, dict[str, Any]]]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}"} for name, args in calls
        ],
    )


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
