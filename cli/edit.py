"""``imgedit edit IN "INSTRUCTION" -o OUT``: one edit from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import command, print_json, progress_bar, stderr
from engine import Editor
from engine.imageio import format_for_path, load_image, save_image
from imgedit.config import get_settings
from imgedit.errors import BadInputError


@command
def edit_command(
    image: Annotated[Path, typer.Argument(help="The image to edit (PNG, JPEG or WebP).")],
    instruction: Annotated[str, typer.Argument(help="What to change, in Chinese or English.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the result.")],
    reference: Annotated[
        list[Path] | None,
        typer.Option("--ref", help="A reference image ('Picture 2', 'Picture 3'); up to two."),
    ] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", "-e", help="auto | classic | qwen (default: IMGEDIT_ENGINE).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Qwen-Image-Edit-2509 folder (default: IMGEDIT_QWEN_MODEL).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable generative edits.")] = None,
    steps: Annotated[int | None, typer.Option(help="Denoising steps (qwen).")] = None,
    cfg: Annotated[float | None, typer.Option(help="True CFG scale (qwen); 1 turns CFG off.")] = None,
    negative_prompt: Annotated[str, typer.Option(help="What to avoid (qwen).")] = " ",
    mask: Annotated[
        Path | None, typer.Option(help="Only pixels where this mask is white may change.")
    ] = None,
    no_preserve: Annotated[
        bool, typer.Option("--no-preserve", help="Skip preservation and the edit-area limit.")
    ] = False,
    max_edit_area: Annotated[
        float | None, typer.Option(help="Largest share of the image a local edit may change.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the edit report as JSON.")] = False,
) -> None:
    """Edit IMAGE as INSTRUCTION says and write the result to OUTPUT (same size and format)."""
    settings = get_settings()
    if len(reference or []) > 2:
        raise BadInputError("At most two reference images (--ref) can be given.")
    loaded = load_image(image, max_pixels=settings.max_image_pixels)
    references = [load_image(p, max_pixels=settings.max_image_pixels).image for p in reference or []]
    mask_image = load_image(mask, max_pixels=settings.max_image_pixels).image.convert("L") if mask else None
    editor = Editor(engine=engine, model_path=model)

    with progress_bar("editing", disable=as_json) as on_progress:
        result = editor.edit(
            image=loaded.image,
            prompt=instruction,
            images=references,
            negative_prompt=negative_prompt,
            seed=seed,
            num_inference_steps=steps,
            true_cfg_scale=cfg,
            mask=mask_image,
            enable_semantic_preserve=not no_preserve,
            max_edit_area=max_edit_area,
            progress=on_progress,
        )
    # Keep the input's format unless the output's suffix names another one.
    out_format = format_for_path(output, default=loaded.format)
    save_image(result.image, output, out_format)
    if as_json:
        print_json({"output": str(output), **result.report.to_dict()})
    else:
        report = result.report
        stderr.print(
            f"wrote {output} ({report.output_size[0]}x{report.output_size[1]}, engine {report.engine}, "
            f"{report.seconds:.2f}s, changed {report.changed_area_ratio:.1%})"
        )
        for warning in report.warnings:
            stderr.print(f"[yellow]warning:[/] {warning}")


def register(app: typer.Typer) -> None:
    app.command("edit", no_args_is_help=True)(edit_command)
