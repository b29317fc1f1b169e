"""What every command shares: turning our errors into a clear message and an exit code.

Bad input exits 2 with a message on stderr that says what was wrong and what to do; a failure
of ours exits 1. Neither prints a traceback (set ``IMGEDIT_DEBUG=1`` to see one).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from imgedit.errors import ImgEditError

stderr = Console(stderr=True, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report ``ImgEditError`` (and interruptions) as a message and an exit code, not a traceback."""
    try:
        yield
    except ImgEditError as exc:
        if os.environ.get("IMGEDIT_DEBUG"):
            raise
        stderr.print(f"[bold red]error:[/] {exc.message}", soft_wrap=True)
        if exc.hint:
            stderr.print(f"[yellow]hint:[/] {exc.hint}", soft_wrap=True)
        suggestions = getattr(exc, "suggestions", None)
        if suggestions:
            stderr.print("try: " + " | ".join(suggestions), soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        stderr.print("interrupted")
        raise typer.Exit(130) from None


def print_json(data: Any) -> None:
    """One JSON document on stdout, non-ASCII kept readable (Chinese instructions)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run a command body inside ``user_errors``."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_errors():
            return func(*args, **kwargs)

    return wrapper
