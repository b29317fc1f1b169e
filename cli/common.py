"""What every command shares: turning our errors into a clear message and an exit code.

Bad input exits 2 with a message on stderr that says what was wrong and what to do; a failure
of ours exits 1. Neither prints a traceback (set ``IMGEDIT_DEBUG=1`` to see one).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from engine.types import ProgressCallback
from imgedit.errors import ImgEditError

stderr = Console(stderr=True, highlight=False)

# The options several commands share, explained once.
EngineOption = Annotated[
    str | None,
    typer.Option("--engine", "-e", help="auto | classic | qwen (default: IMGEDIT_ENGINE, else auto)."),
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="Qwen-Image-Edit-2509 folder (default: IMGEDIT_QWEN_MODEL).")
]
WorkersOption = Annotated[
    int | None, typer.Option(help="Pictures edited at once, in processes (default: one per CPU core).")
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Report ``ImgEditError`` (and interruptions) as a message and an exit code, not a traceback."""
    try:
        yield
    except ImgEditError as exc:
        if os.environ.get("IMGEDIT_DEBUG"):
            raise
        print_error(exc)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        stderr.print("interrupted")
        raise typer.Exit(130) from None


def print_error(exc: ImgEditError) -> None:
    """The error's message, hint and suggestions on stderr, the way every command shows them."""
    stderr.print(f"[bold red]error:[/] {exc.message}", soft_wrap=True)
    if exc.hint:
        stderr.print(f"[yellow]hint:[/] {exc.hint}", soft_wrap=True)
    suggestions = getattr(exc, "suggestions", None)
    if suggestions:
        stderr.print("try: " + " | ".join(suggestions), soft_wrap=True)


def print_json(data: Any) -> None:
    """One JSON document on stdout, non-ASCII kept readable (Chinese instructions)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run a command body inside ``user_errors``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_errors():
            return func(*args, **kwargs)

    return wrapper


@contextmanager
def progress_bar(description: str, *, disable: bool, estimate: bool = False) -> Iterator[ProgressCallback]:
    """A transient progress bar on stderr, fed by the ``progress(done, total)`` callback yielded.

    Pass ``disable`` for JSON output and when stderr is not a terminal, so that pipes and logs
    get no control sequences; ``estimate`` adds the time left (for many similar steps: a batch).
    """
    columns: list[ProgressColumn] = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    if estimate:
        columns.append(TimeRemainingColumn())
    with Progress(
        *columns,
        console=stderr,
        transient=True,
        disable=disable or not stderr.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield on_progress
