"""``imgedit edit IN "INSTRUCTION" -o OUT``: one edit from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import EngineOption, ModelOption, command, print_json, progress_bar, stderr
from engine import Editor
from engine.imageio import format_for_path, load_image, save_image
from engine.parsing.language import reply_language
from imgedit.config import get_settings
from imgedit.errors import BadInputError, answered_in


@command
def edit_command(
    image: Annotated[Path, typer.Argument(metavar="IMAGE", help="The image to edit (PNG, JPEG or WebP).")],
    instruction: Annotated[
        str, typer.Argument(metavar="INSTRUCTION", help="What to change, in Chinese or English.")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Where to write the result; a .png, .jpg or .webp suffix picks the format, "
            "any other keeps IMAGE's. Missing folders are created.",
        ),
    ],
    reference: Annotated[
        list[Path] | None,
        typer.Option(
            "--ref",
            help="A reference image for the qwen engine, called 'Picture 2' (then 'Picture 3') in "
            "the instruction; give --ref once or twice.",
        ),
    ] = None,
    engine: EngineOption = None,
    model: ModelOption = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Random seed of a generative (qwen) edit, to repeat it (default: a new one each run)."
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(help="Denoising steps of the qwen engine (default: the preset's: 40, 8 or 4)."),
    ] = None,
    cfg: Annotated[
        float | None,
        typer.Option(
            help="True CFG scale of the qwen engine, 1 turning CFG off (default: the preset's: 4, or 1)."
        ),
    ] = None,
    negative_prompt: Annotated[
        str,
        typer.Option(
            help="What the qwen model should avoid painting (default: nothing).", show_default=False
        ),
    ] = " ",
    mask: Annotated[
        Path | None,
        typer.Option(
            help="A black-and-white image of IMAGE's size: only pixels where it is white may change."
        ),
    ] = None,
    no_preserve: Annotated[
        bool,
        typer.Option(
            "--no-preserve",
            help="Let the whole image change: no preservation of unnamed pixels, no edit-area limit.",
        ),
    ] = False,
    max_edit_area: Annotated[
        float | None,
        typer.Option(
            help="Largest share of the image (0 to 1) a local edit may change "
            "(default: IMGEDIT_MAX_EDIT_AREA, else 0.6)."
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the edit report as JSON on stdout (plan, engine, seconds, changed area, warnings).",
        ),
    ] = False,
) -> None:
    """Edit IMAGE as INSTRUCTION says and write the result to OUTPUT, at IMAGE's exact size.

    Pixels the instruction does not name are kept. A vague instruction, or one the engine cannot
    do, is refused with what to try instead (exit code 2), never guessed at.

    Example: imgedit edit photo.jpg "把背景换成白色" -o white.jpg --json
    """
    settings = get_settings()
    if len(reference or []) > 2:
        raise BadInputError("At most two reference images (--ref) can be given.")
    limit = settings.max_image_pixels
    with answered_in(reply_language(instruction)):  # a Chinese instruction: a bad file told in Chinese
        loaded = load_image(image, max_pixels=limit)
        references = [load_image(p, max_pixels=limit).image for p in reference or []]
        mask_image = load_image(mask, max_pixels=limit).image.convert("L") if mask else None
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
