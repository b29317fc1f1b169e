"""The conversation loop behind ``imgedit chat``: slash commands, agent turns, printing.

Kept apart from cli/chat.py so that ``imgedit --help`` and the other commands do not pay for
importing LangChain and the agent (about three seconds) unless a chat actually starts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from agent import ChatAgent, Turn
from agent.replies import describe_outcome, language_of
from cli.common import print_error, print_json, stderr
from engine.imageio import format_for_path, load_image, save_image
from imgedit.errors import BadInputError, ImgEditError, NeedsClarificationError
from tools import SessionTools, ToolContext, ToolOutcome

HELP = "Commands: /attach PATH, /select IMAGE, /undo, /redo, /history, /revert VERSION, /export PATH, /quit"
#: What ``/export`` writes: the current image in one of these formats, or the audit record.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
EXPORT_SUFFIXES = (*IMAGE_SUFFIXES, ".json")


class ChatSession:
    """One CLI conversation: routes slash commands and messages, prints each turn."""

    def __init__(self, agent: ChatAgent, session_id: str, *, as_json: bool) -> None:
        self.agent = agent
        self.session_id = session_id
        self.as_json = as_json
        self.language = "en"

    def handle(self, line: str) -> bool:
        """Handle one input line; False when the conversation should end."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit", "/q"):
            return False
        try:
            if line.startswith("/"):
                self._command(line)
            else:
                self.language = language_of(line)
                self._emit(self.agent.send(self.session_id, line).to_json())
        except ImgEditError as exc:
            self._error(exc.speak(self.language))  # a file error told in the conversation's language
        return True

    def _command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        tools = SessionTools(
            ToolContext(
                session_id=self.session_id, store=self.agent.store, editor=self.agent.editor, user_text=line
            )
        )
        if name == "/attach":
            if not arg:
                raise BadInputError("Say which file to attach: /attach PATH")
            image, version = self.agent.attach(self.session_id, Path(arg).expanduser())
            reply = (
                f"已添加图{image.position}（{version.width}x{version.height}）。"
                if self.language == "zh"
                else f"Attached image {image.position} ({version.width}x{version.height})."
            )
            self._emit(_turn(reply, image.id, version.id, self.agent.store.version_location(version)))
        elif name in ("/undo", "/redo", "/history"):
            outcome = {"/undo": tools.undo, "/redo": tools.redo, "/history": tools.list_versions}[name]()
            self._outcome(outcome, {})
        elif name == "/select":
            if not arg:
                raise BadInputError("Say which image: /select IMAGE (a number, as /history shows, or an id).")
            self._outcome(tools.select_image(int(arg) if arg.isdigit() else arg), {"image": arg})
        elif name == "/revert":
            if not arg:
                raise BadInputError("Say which version: /revert VERSION (a number, an id, or 'original').")
            self._outcome(tools.revert(arg), {"version": arg})
        elif name == "/export":
            self._export(tools, arg)
        elif name == "/help":
            self._emit(_turn(HELP))
        else:
            raise BadInputError(f"Unknown command {name}.", hint=HELP)

    def _export(self, tools: SessionTools, arg: str) -> None:
        if not arg:
            raise BadInputError("Say where to write: /export PATH (.png/.jpg/.webp image, or .json audit).")
        path = Path(arg).expanduser()
        suffix = path.suffix.lower()
        if suffix not in EXPORT_SUFFIXES:
            raise BadInputError(
                f"Cannot export to '{path.name}': /export does not write '{suffix or '(no suffix)'}' files.",
                hint="Use " + ", ".join(EXPORT_SUFFIXES[:-1]) + " for the current image, or .json for the "
                "session's audit record.",
            )
        if suffix == ".json":
            audit = self.agent.store.session_audit(self.session_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(audit, ensure_ascii=False, indent=2), encoding="utf-8")
            self._emit(_turn(f"Wrote the session's audit record to {path}."))
            return
        image = tools.find_image()
        head = self.agent.store.head(image.id)
        picture = load_image(self.agent.store.read_version(head)).image
        save_image(picture, path, format_for_path(path, default=head.format))
        self._emit(
            _turn(
                f"Wrote image {image.position} version {head.number} to {path}.", image.id, head.id, str(path)
            )
        )

    def _outcome(self, outcome: ToolOutcome, args: dict[str, Any]) -> None:
        if not outcome.ok:
            raise _error_of(outcome)
        data = outcome.model_dump()
        self._emit(
            _turn(
                describe_outcome(data, self.language),
                outcome.image_id,
                outcome.version_id,
                outcome.image_path,
            )
            | {"tool_calls": [{"name": outcome.action, "args": args}]}
        )

    def _emit(self, turn: dict[str, Any]) -> None:
        if self.as_json:
            print_json(turn)
            return
        sys.stdout.write(turn["reply"] + "\n")
        if turn.get("image_path"):
            stderr.print(f"[dim]image: {turn['image_path']}[/]", soft_wrap=True)  # a path: never wrapped
        sys.stdout.flush()

    def _error(self, exc: ImgEditError) -> None:
        """The error as the other commands show it (message, hint, suggestions), without ending
        the conversation; with ``--json``, as the turn's ``error``."""
        if self.as_json:
            print_json({**_turn(exc.message), "error": exc.to_dict()})
            return
        print_error(exc)


def _error_of(outcome: ToolOutcome) -> ImgEditError:
    """The failed outcome's error as the exception it was, so its code (``not_found``…), hint
    and suggestions reach the user unchanged."""
    error = outcome.error or {}
    message = str(error.get("message") or outcome.message)
    hint = error.get("hint")
    code = error.get("code")
    suggestions = error.get("suggestions")
    if code == NeedsClarificationError.code or suggestions:
        items = suggestions if isinstance(suggestions, list) else [str(suggestions)] if suggestions else []
        return NeedsClarificationError(message, suggestions=[str(s) for s in items], hint=hint)
    kind = _error_classes().get(str(code), BadInputError)
    return kind(message, hint=hint)


def _error_classes() -> dict[str, type[ImgEditError]]:
    """The classes of ``imgedit.errors`` by their code (the most general one for a shared code);
    subclasses elsewhere may take other arguments, so they are left out."""
    found: dict[str, type[ImgEditError]] = {}
    pending: list[type[ImgEditError]] = [ImgEditError]
    while pending:
        kind = pending.pop(0)
        if kind.__module__ == ImgEditError.__module__:
            found.setdefault(kind.code, kind)
        pending.extend(kind.__subclasses__())
    return found


def _turn(
    reply: str, image_id: str | None = None, version_id: str | None = None, image_path: str | None = None
) -> dict[str, Any]:
    """A slash command's answer as the same JSON line an agent turn prints."""
    return Turn(reply, image_id=image_id, version_id=version_id, image_path=image_path).to_json()
