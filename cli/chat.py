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

from cli.common import command, stderr


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
