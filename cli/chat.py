"""``imgedit chat``: a conversation about images, in a terminal or line by line from stdin.

Slash commands act on the session directly (the same operations the agent's tools use):
``/attach PATH``, ``/undo``, ``/redo``, ``/history``, ``/revert VERSION``, ``/export PATH``
(an image suffix writes the current image; ``.json`` writes the session's audit record),
``/quit``. ``--json`` prints one JSON line per turn.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from agent import ChatAgent, SamplingOptions
from agent.replies import describe_outcome, language_of
from cli.common import command, print_json, stderr
from engine import Editor
from engine.imageio import format_for_path, load_image, save_image
from imgedit.errors import BadInputError, ImgEditError
from tools import SessionTools, ToolContext, ToolOutcome

HELP = "Commands: /attach PATH, /undo, /redo, /history, /revert VERSION, /export PATH, /quit"


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
            self._error(exc)
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
            self._emit(_turn(reply, image.id, version.id, str(self.agent.store.version_path(version))))
        elif name in ("/undo", "/redo", "/history"):
            outcome = {"/undo": tools.undo, "/redo": tools.redo, "/history": tools.list_versions}[name]()
            self._outcome(outcome, {})
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
        if path.suffix.lower() == ".json":
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
            error = outcome.error or {}
            raise BadInputError(error.get("message", outcome.message), hint=error.get("hint"))
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
            stderr.print(f"[dim]image: {turn['image_path']}[/]")
        sys.stdout.flush()

    def _error(self, exc: ImgEditError) -> None:
        if self.as_json:
            print_json({**_turn(exc.message), "error": exc.to_dict()})
            return
        stderr.print(f"[bold red]error:[/] {exc.message}", soft_wrap=True)
        if exc.hint:
            stderr.print(f"[yellow]hint:[/] {exc.hint}", soft_wrap=True)


def _turn(
    reply: str, image_id: str | None = None, version_id: str | None = None, image_path: str | None = None
) -> dict[str, Any]:
    return {
        "reply": reply,
        "tool_calls": [],
        "resolved_instruction": None,
        "image_id": image_id,
        "version_id": version_id,
        "image_path": image_path,
    }


@command
def chat_command(
    session: Annotated[str | None, typer.Option("--session", help="Resume this session (its id).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line per turn.")] = False,
    engine: Annotated[str | None, typer.Option("--engine", "-e", help="auto | classic | qwen.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Qwen-Image-Edit-2509 folder.")] = None,
    llm: Annotated[
        str | None, typer.Option("--llm", help="Planner: rules | openai (default IMGEDIT_LLM).")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="Planner sampling temperature (openai).")] = None,
    top_k: Annotated[int | None, typer.Option(help="Planner top-k (openai).")] = None,
    max_new_tokens: Annotated[int | None, typer.Option(help="Planner reply length limit (openai).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for generative edits.")] = 0,
) -> None:
    """Hold a conversation about images: attach, ask for edits, undo, revert, export."""
    agent = ChatAgent(
        editor=Editor(engine=engine, model_path=model),
        planner=llm,
        sampling=SamplingOptions(temperature=temperature, top_k=top_k, max_new_tokens=max_new_tokens),
        seed=seed,
    )
    session_id = agent.store.get_session(session).id if session else agent.new_session()
    interactive = sys.stdin.isatty()
    stderr.print(f"session {session_id} (resume with --session {session_id})")
    if interactive:
        stderr.print(HELP)
    chat = ChatSession(agent, session_id, as_json=as_json)
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and line == "":
            break
        if not chat.handle(line):
            break


def register(app: typer.Typer) -> None:
    app.command("chat")(chat_command)
