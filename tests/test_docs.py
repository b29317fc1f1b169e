"""Docs kept true by a check: docs/deploy.md's table of settings is the one ``Settings`` makes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from imgedit.config import settings_table

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"


def test_deploy_md_lists_every_setting_as_settings_declares_it() -> None:
    text = DEPLOY.read_text(encoding="utf-8")
    found = re.search(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->", text, re.S)
    assert found, "docs/deploy.md lost its settings markers"
    assert found.group(1) == settings_table(), (
        "docs/deploy.md's settings table is out of date: replace the lines between its markers with the "
        'output of: python -c "from imgedit.config import settings_table; '
        "print(settings_table(), end='')\""
    )


API = DEPLOY.parent / "api.md"


def _shape(path: str) -> str:
    """A path with its parameters unnamed: docs say ``{id}`` where the code says ``{job_id}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_api_md_documents_every_route_the_server_serves(tmp_path: Path) -> None:
    from starlette.routing import WebSocketRoute

    from server.app import create_app
    from tests.server_harness import server_settings

    app = create_app(server_settings(tmp_path))
    documented = _shape(API.read_text(encoding="utf-8"))
    routes = [f"{method.upper()} {path}" for path, ops in app.openapi()["paths"].items() for method in ops]
    routes += [route.path for route in app.routes if isinstance(route, WebSocketRoute)]
    missing = [route for route in routes if f"`{_shape(route)}`" not in documented]
    assert len(routes) > 25 and not missing, f"docs/api.md does not document: {missing}"


def test_every_cli_command_is_documented() -> None:
    import typer

    from cli.main import app

    def paths(group: Any, prefix: str) -> list[str]:
        found = []
        for name, command in group.commands.items():
            found += (
                paths(command, f"{prefix} {name}") if hasattr(command, "commands") else [f"{prefix} {name}"]
            )
        return found

    documented = API.read_text(encoding="utf-8") + DEPLOY.read_text(encoding="utf-8")
    commands = paths(typer.main.get_command(app), "imgedit")
    missing = [command for command in commands if not re.search(f"`{re.escape(command)}[ `]", documented)]
    assert len(commands) >= 12 and not missing, f"docs/api.md and docs/deploy.md do not document: {missing}"
