"""``imgedit deck restyle IN.pptx (--theme NAME | --prompt TEXT) -o OUT.pptx``: restyle a whole deck."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import EngineOption, WorkersOption, command, print_json, progress_bar, stderr
from engine.parsing.language import reply_language
from imgedit.errors import BadInputError, answered_in
from plugins.pptx import DeckReport, RestyleOptions, restyle_deck
from plugins.pptx.options import DEFAULT_MIN_SIZE, parse_pictures

deck_app = typer.Typer(help="Restyle PowerPoint decks: every picture, nothing else.", no_args_is_help=True)


@deck_app.command("restyle", no_args_is_help=True)
@command
def restyle_command(
    deck: Annotated[Path, typer.Argument(metavar="DECK", help="The .pptx deck to restyle.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Where to write the restyled deck, a .pptx (not needed with --dry-run)."
        ),
    ] = None,
    theme: Annotated[
        str | None, typer.Option(help="A style template by slug or name (see `imgedit themes`).")
    ] = None,
    prompt: Annotated[
        str | None, typer.Option(help="An instruction applied to every picture, in Chinese or English.")
    ] = None,
    engine: EngineOption = None,
    seed: Annotated[int, typer.Option(help="Seed shared by every picture, so the deck gets one look.")] = 0,
    slides: Annotated[
        str | None, typer.Option(help="Only pictures on these slides, e.g. 1-5 or 1,3,7-9 (default: all).")
    ] = None,
    min_size: Annotated[
        int, typer.Option("--min-size", help="Skip pictures whose shorter side is under this many pixels.")
    ] = DEFAULT_MIN_SIZE,
    workers: WorkersOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="List the pictures that would change and estimate the time; write nothing."
        ),
    ] = False,
    pictures: Annotated[
        str | None,
        typer.Option(
            help="photos: only photographs (logos, charts, diagrams keep their colours); all: every "
            "picture. Default: photos for a theme, all for a prompt.",
        ),
    ] = None,
    theme_colors: Annotated[
        bool,
        typer.Option("--theme-colors", help="Also grade the deck's own colour scheme with the theme."),
    ] = False,
    preview: Annotated[
        Path | None,
        typer.Option(help="Also write a PNG of the changed slides, before and after (needs LibreOffice)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON: every picture's status and reason.")
    ] = False,
) -> None:
    """Apply a theme or an instruction to every picture in DECK; everything else stays as it was.

    Give --theme or --prompt (one of them). A picture used on several slides is edited once.

    Example: imgedit deck restyle talk.pptx --theme valentine -o talk-valentine.pptx --preview diff.png
    """
    options = RestyleOptions(
        theme=theme,
        prompt=prompt,
        engine=engine,
        seed=seed,
        slides=slides,
        min_size=min_size,
        workers=workers,
        pictures=parse_pictures(pictures),
        theme_colors=theme_colors,
    )
    if output is None and not dry_run:
        raise BadInputError("Say where to write the restyled deck with -o OUT.pptx (or use --dry-run).")
    if output is not None and output.suffix.lower() != ".pptx" and not dry_run:
        raise BadInputError(f"The output {output} should be a .pptx file.")
    with (
        answered_in(reply_language(prompt or theme or "")),  # a Chinese prompt: a bad deck told in Chinese
        progress_bar("restyling pictures", disable=as_json or dry_run) as on_progress,
    ):
        report = restyle_deck(deck, output, options, dry_run=dry_run, preview=preview, progress=on_progress)
    if as_json:
        print_json(report.to_dict())
    elif dry_run:
        _print_dry_run(report)
    else:
        _print_summary(report, preview)


def _slides_text(numbers: list[int]) -> str:
    return "no slide" if not numbers else "slides " + ",".join(map(str, numbers))


def _print_dry_run(report: DeckReport) -> None:
    out = typer.echo
    out(
        f"{report.input}: {report.slide_count} slides, {report.engine} ('{report.instruction}'), "
        f"about {report.estimated_seconds:.1f} s: {report.summary_text}"
    )
    for image in report.images:
        mark = "edit" if image.status == "edit" else "skip"
        size = f"{image.width}x{image.height}" if image.width else "-"
        kind = f" {image.kind}" if image.kind else ""
        line = f"  {mark} {image.name} {image.format or '?'} {size}{kind} on {_slides_text(image.slides)}"
        line += f" via {', '.join(image.used_by)}"
        if image.reason:
            line += f" ({image.reason})"
        out(line)
    for warning in report.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)


def _print_summary(report: DeckReport, preview: Path | None) -> None:
    stderr.print(
        f"wrote {report.output}: {report.summary_text} ({report.engine}, {report.seconds:.1f}s)",
        soft_wrap=True,
    )
    for image in report.images:
        if image.status in ("skipped", "failed") and image.kept_because != "thumbnail":
            stderr.print(f"  kept {image.name}: {image.reason}", soft_wrap=True)
    for color in report.theme_colors:
        stderr.print(
            f"  colour {color.slot} of {color.part}: {color.before} -> {color.after}", soft_wrap=True
        )
    for warning in report.warnings:
        stderr.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
    if preview is not None:
        stderr.print(f"preview: {preview}")


def register(app: typer.Typer) -> None:
    app.add_typer(deck_app, name="deck")
