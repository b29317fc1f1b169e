"""``imgedit themes``: the style templates, one per line (built-ins and the user's own)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.cells import cell_len

from cli.common import command, print_json
from engine.themes import list_themes, user_themes_dir


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (``cell_len`` counts Chinese characters as two)."""
    return text + " " * max(0, width - cell_len(text))


@command
def themes_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the themes as one JSON array, an object per theme.")
    ] = False,
) -> None:
    """List the themes: slug, English name, Chinese name and description, one per line.

    Use a theme by its slug or either name: imgedit deck restyle --theme SLUG, imgedit batch
    --theme SLUG, or an instruction such as "retro style" / "复古风格". Add your own as TOML files in
    IMGEDIT_HOME/themes (or IMGEDIT_THEMES_DIR); see docs/instructions.md for the format.

    Example: imgedit themes --json
    """
    themes = list_themes(user_themes_dir())
    if as_json:
        print_json([theme.model_dump(mode="json") for theme in themes])
        return
    slug_width = max(cell_len(theme.name) for theme in themes)
    en_width = max(cell_len(theme.name_en) for theme in themes)
    zh_width = max(cell_len(theme.name_zh) for theme in themes)
    for theme in themes:
        line = "  ".join(
            [
                _pad(theme.name, slug_width),
                _pad(theme.name_en, en_width),
                _pad(theme.name_zh, zh_width),
                theme.description,
            ]
        )
        typer.echo(line.rstrip())


def register(app: typer.Typer) -> None:
    app.command("themes")(themes_command)
