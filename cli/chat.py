"""``imgedit chat``: a conversation about images, in a terminal or line by line from stdin.

Slash commands act on the session directly (the same operations the agent's tools use):
``/attach PATH``, ``/undo``, ``/redo``, ``/history``, ``/revert VERSION``, ``/export PATH``
(an image suffix writes the current image; ``.json`` writes the session's audit record),
``/quit``. ``--json`` prints one JSON line per turn.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.common import EngineOption, ModelOption, command, stderr


@command
def chat_command(
    session: Annotated[
        str | None,
        typer.Option(
            "--session", help="Resume this session: the id printed when it started (default: a new one)."
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON line per turn: reply, tool_calls, resolved_instruction, image_id, "
            "version_id, image_path.",
        ),
    ] = False,
    engine: EngineOption = None,
    model: ModelOption = None,
    llm: Annotated[
        str | None,
        typer.Option("--llm", help="Planner: rules (offline) | openai (default: IMGEDIT_LLM, else rules)."),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(help="Planner sampling temperature, 0 to 2 (openai; default: the server's)."),
    ] = None,
    top_k: Annotated[
        int | None, typer.Option(help="Planner top-k sampling (openai; default: the server's).")
    ] = None,
    max_new_tokens: Annotated[
        int | None,
        typer.Option(help="Most tokens the planner may answer with (openai; default: the server's)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of generative (qwen) edits, for repeatable results.")] = 0,
) -> None:
    r"""Hold a conversation about images: attach them, ask for edits, undo, revert, export.

    Type a message per line, in Chinese or English; when stdin is not a terminal, each line read is
    one message. Commands: /attach PATH (add an image), /select IMAGE (the image to edit), /undo,
    /redo, /history, /revert VERSION, /export PATH (.png, .jpg or .webp: the current image; .json:
    the session's audit record), /quit. The session is kept in IMGEDIT_HOME: resume it with --session.

    Example: printf '/attach photo.png\n把背景换成白色\n/undo\n' | imgedit chat --json
    """
    from agent import ChatAgent, SamplingOptions
    from cli.chat_session import HELP, ChatSession
    from engine import Editor

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
