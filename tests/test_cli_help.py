"""Every ``--help`` helps a new user: it says what the command does, explains every option and
argument, and shows one example command line. Read from the command tree itself, so a command
added later is checked too."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from cli.main import app


def commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every runnable command under ``group`` with its path (typer's own click: duck-typed)."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def test_every_command_explains_its_options_and_shows_an_example() -> None:
    root = typer.main.get_command(app)
    leaves = commands(root)
    assert {" ".join(path) for path, _ in leaves} >= {
        "edit",
        "chat",
        "serve",
        "worker",
        "keys create",
        "db upgrade",
    }
    runner = CliRunner()
    for path, command in [((), root), *leaves]:
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
        assert shown.exit_code == 0, (path, shown.output)
        assert (command.help or "").strip(), f"imgedit {' '.join(path)} does not say what it does"
        name = f"imgedit {' '.join(path)}".rstrip()
        examples = [line for line in shown.output.splitlines() if line.strip().startswith("Example:")]
        assert any(name in line for line in examples), f"{name} --help shows no example"
        for param in command.params:
            text = getattr(param, "help", None) or ""
            assert param.name == "help" or len(text) > 10, (
                f"imgedit {' '.join(path)}: {param.name} is unexplained"
            )
        assert "[default:  ]" not in shown.output, path  # a blank default says nothing
