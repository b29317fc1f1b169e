"""Imports point downwards (docs/architecture.md): read from the sources, as a reviewer would.

The job layer must run wherever a worker runs (the server's threads now, a broker's worker
later), so it knows nothing of the server or the CLI; and only the composition root picks the
scheduler's implementation, everything else talks to its interface."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What each layer may import from the project, lowest first.
ALLOWED = {
    "imgedit": set(),
    "engine": {"imgedit"},
    "sessions": {"imgedit"},
    "tools": {"imgedit", "engine", "sessions"},
    "agent": {"imgedit", "engine", "sessions", "tools"},
    "batch": {"imgedit", "engine", "plugins"},
    "jobs": {"imgedit", "engine", "sessions", "tools", "plugins", "batch"},
    # Operations: drives the service through its commands and HTTP; the tests' migrated template
    # database is the one thing it makes in-process.
    "cluster": {"imgedit", "sessions", "agent"},
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_layers_import_only_the_layers_below_them() -> None:
    wrong = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            for name in imports(path):
                top = name.split(".")[0]
                if top in {*ALLOWED, "plugins", "server", "cli"} and top != layer and top not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, wrong


def test_only_the_composition_root_imports_the_local_scheduler() -> None:
    users = [
        str(path.relative_to(ROOT))
        for top in ("server", "cli", "jobs", "plugins")
        for path in sorted((ROOT / top).rglob("*.py"))
        if any(name.startswith("server.scheduler.local") for name in imports(path))
    ]
    assert users == ["server/app.py"], users


def test_only_the_composition_roots_import_the_celery_queue() -> None:
    """An API node picks the Celery queue in server/app.py; `imgedit worker` starts its worker in
    cli/worker.py. Everything else talks to the ``JobQueue`` interface."""
    inside = ROOT / "server" / "scheduler" / "celery"
    users = [
        str(path.relative_to(ROOT))
        for top in ("server", "cli", "jobs", "plugins")
        for path in sorted((ROOT / top).rglob("*.py"))
        if inside not in path.parents
        and any(name.startswith("server.scheduler.celery") for name in imports(path))
    ]
    assert sorted(users) == ["cli/worker.py", "server/app.py"], users
