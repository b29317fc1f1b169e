"""The ``imgedit`` console script: registers each command group's module on one Typer app."""

from __future__ import annotations

import typer

from cli import batch, chat, db, deck, edit, serve, themes, worker

app = typer.Typer(
    name="imgedit",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Edit images by saying what you want, in Chinese or English.

    Configuration comes from IMGEDIT_* environment variables or ./imgedit.toml
    (IMGEDIT_ENGINE, IMGEDIT_QWEN_MODEL, IMGEDIT_HOME, IMGEDIT_MAX_EDIT_AREA, ...; docs/deploy.md
    lists them all). Each command has its own --help. Exit codes: 0 done, 2 bad input (the message
    says what to change), 1 a failure of ours.

    Example: imgedit edit photo.jpg "调亮一点" -o brighter.jpg
    """


edit.register(app)
chat.register(app)
themes.register(app)
serve.register(app)  # serve and keys
deck.register(app)
batch.register(app)
db.register(app)
worker.register(app)
# Command groups register here, one line each (themes, chat, deck, serve, keys, batch, db, worker).


def main() -> None:
    app()


if __name__ == "__main__":
    main()
