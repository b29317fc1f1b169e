"""``imgedit batch INPUT (--prompt TEXT | --theme NAME) -o OUTPUT``: a folder, .zip or manifest at once.

A thin adapter: batch/ does the work; this prints the plan, the progress bar, the summary or the
JSON report, and exits 0 (every item done), 2 (some inputs were bad, the rest written) or 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import EngineOption, WorkersOption, command, print_json, progress_bar, stderr
from engine.parsing.language import reply_language
from imgedit.errors import BadInputError, answered_in

if TYPE_CHECKING:
    from batch import BatchReport


@command
def batch_command(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="SOURCE", help="A folder of pictures (searched recursively), a .zip, or a .csv manifest."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="A folder or a .zip; results keep their paths (not needed with --dry-run)."
        ),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option(help="The instruction for every picture (a manifest's default), in Chinese or English."),
    ] = None,
    theme: Annotated[
        str | None, typer.Option(help="A style template for every picture (see `imgedit themes`).")
    ] = None,
    glossary: Annotated[
        Path | None,
        typer.Option(help="A CSV of source,target phrases for 'translate the text into English'."),
    ] = None,
    engine: EngineOption = None,
    seed: Annotated[int, typer.Option(help="Seed of every picture's generative (qwen) edit.")] = 0,
    workers: WorkersOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan for every item; edit and write nothing.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the report as JSON: every item's status and reason, a summary."),
    ] = False,
) -> None:
    """Edit every picture of SOURCE into OUTPUT, in the same relative paths, names and formats.

    A CSV manifest has the columns file,instruction (paths relative to the CSV; an optional output
    column renames the result); an instruction may use the row's other columns as {column}.
    Run the same command again after a crash or Ctrl-C: finished pictures are not edited again.
    Exit code 0 when every picture was edited, 2 when some were bad (each named with its reason;
    the others are written).

    Example: imgedit batch catalogue/ --prompt "add a 'SALE' badge in the top right" -o sale.zip
    """
    # Imported here: the engine (OpenCV, OCR) is not for `imgedit --help` to load.
    from batch import BatchOptions, plan_batch, run_batch

    options = BatchOptions(
        prompt=prompt, theme=theme, engine=engine, glossary=glossary, seed=seed, workers=workers
    )
    if dry_run:
        with answered_in(reply_language(prompt or theme or "")):
            report = plan_batch(source, output, options)
    else:
        if output is None:
            raise BadInputError("Say where to write the results with -o OUTPUT (a folder or a .zip).")
        try:
            with (
                answered_in(reply_language(prompt or theme or "")),  # errors in the prompt's language
                progress_bar("editing", disable=as_json, estimate=True) as on_progress,
            ):
                report = run_batch(source, output, options, progress=on_progress)
        except KeyboardInterrupt:
            stderr.print("interrupted: run the same command again to resume; finished pictures are kept.")
            raise typer.Exit(130) from None
    if as_json:
        print_json(report.to_dict())
    elif dry_run:
        _print_plan(report)
    else:
        _print_summary(report)
    raise typer.Exit(report.exit_code)


def _where(row: int | None, name: str) -> str:
    return f"row {row} ({name})" if row is not None else name


def _print_plan(report: BatchReport) -> None:
    for item in report.items:
        line = f"{item.status:<7} {_where(item.row, item.name)}"
        if item.operations:
            line += f": {', '.join(item.operations)} with {item.engine}"
        if item.instruction:
            line += f" ('{item.instruction}')"
        if item.same_as:
            line += f" (same as {item.same_as})"
        if item.translated:
            line += "; " + ", ".join(f"'{t.source}' -> '{t.target}'" for t in item.translated)
        if item.reason:
            line += f": {item.reason}"
        typer.echo(line)
        for warning in item.warnings:
            typer.echo(f"        {warning}")
    counts = ", ".join(f"{count} {status}" for status, count in report.summary().items())
    typer.echo(f"{len(report.items)} item(s): {counts}; nothing was written")


def _print_summary(report: BatchReport) -> None:
    for item in report.items:
        if item.status in ("failed", "partial"):
            word = "failed" if item.status == "failed" else "partly done"
            stderr.print(f"[yellow]{word}:[/] {_where(item.row, item.name)}: {item.reason}", soft_wrap=True)
    counts = ", ".join(f"{count} {status}" for status, count in report.summary().items())
    stderr.print(
        f"wrote {report.output}: {len(report.items)} item(s): {counts}; "
        f"{report.engine_calls} edit(s) on {report.workers} worker(s) in {report.seconds:.1f}s",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("batch", no_args_is_help=True)(batch_command)
