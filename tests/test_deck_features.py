"""Slide ranges, size limits, dry runs, previews, progress, cancel and resume, themes, and the
``imgedit deck restyle`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from engine.types import CancelToken
from imgedit.errors import BadInputError, EditCancelledError, NotFoundError
from plugins.pptx import RestyleOptions, parse_slide_range, restyle_deck
from tests.deck_helpers import CORPUS, CountingEditor, changed_parts, open_image, parts

ECE = CORPUS / "ececapstonespring2012.pptx"


def test_slide_range_edits_only_parts_wholly_inside_it(tmp_path: Path) -> None:
    output = tmp_path / "out.pptx"
    options = RestyleOptions(prompt="make it warmer", slides="14-15")
    report = restyle_deck(ECE, output, options, editor=CountingEditor(tmp_path))
    assert changed_parts(ECE, output) == {"ppt/media/image3.png", "ppt/media/image4.png"}
    reasons = {i.name: i.reason for i in report.images if i.status == "skipped"}
    assert reasons["ppt/media/image5.png"] == "not shown on the chosen slides"
    assert reasons["ppt/media/image2.png"].startswith("shared with slides outside the chosen range (22)")
    assert reasons["ppt/media/image1.png"].startswith(
        "shared with slides outside the chosen range (1-13, 16-21, 23-24)"
    )


def test_slide_range_syntax() -> None:
    assert parse_slide_range("1-3, 7", 10) == {1, 2, 3, 7}
    assert parse_slide_range("9-40", 10) == {9, 10}
    assert parse_slide_range(None, 10) is None
    for bad in ("3-1", "a-b", "0", "11"):
        with pytest.raises(BadInputError):
            parse_slide_range(bad, 10)


def test_min_size_keeps_small_pictures(tmp_path: Path) -> None:
    output = tmp_path / "out.pptx"
    report = restyle_deck(
        CORPUS / "backgrounds.pptx",
        output,
        RestyleOptions(prompt="调亮一点", min_size=129),
        editor=CountingEditor(tmp_path),
    )
    assert changed_parts(CORPUS / "backgrounds.pptx", output) == set()
    assert report.count("skipped") == 6 and report.engine_calls == 0


def test_dry_run_lists_and_writes_nothing(tmp_path: Path) -> None:
    editor = CountingEditor(tmp_path)
    report = restyle_deck(
        CORPUS / "aptia.pptx",
        tmp_path / "out.pptx",
        RestyleOptions(prompt="make it warmer"),
        editor=editor,
        dry_run=True,
    )
    assert editor.calls == 0 and not (tmp_path / "out.pptx").exists()
    planned = {i.name: i for i in report.images if i.status == "edit"}
    assert set(planned) == {
        "ppt/media/image1.jpeg",
        "ppt/media/image2.jpeg",
        "ppt/media/image4.jpeg",
        "ppt/media/image5.png",
    }
    assert planned["ppt/media/image5.png"].slides == [9]
    assert (planned["ppt/media/image5.png"].width, planned["ppt/media/image5.png"].format) == (1070, "PNG")
    assert report.estimated_seconds > 0


def test_progress_cancel_and_resume(tmp_path: Path) -> None:
    """Cancel after the first finished picture: nothing is written. Run again with the same resume
    folder: only the remaining pictures go to the engine, and the deck equals an uninterrupted one."""
    options = RestyleOptions(prompt="make it warmer", workers=1)
    output, resume = tmp_path / "out.pptx", tmp_path / "job"
    cancel = CancelToken()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done >= 1:
            cancel.cancel()

    first = CountingEditor(tmp_path)
    with pytest.raises(EditCancelledError):
        restyle_deck(ECE, output, options, editor=first, progress=progress, cancel=cancel, resume_dir=resume)
    assert not output.exists() and seen[:2] == [(0, 4), (1, 4)] and first.calls == 1

    steps: list[tuple[int, int]] = []
    second = CountingEditor(tmp_path)
    report = restyle_deck(
        ECE, output, options, editor=second, progress=lambda d, t: steps.append((d, t)), resume_dir=resume
    )
    assert second.calls == 3 and report.count("resumed") == 1
    assert steps[0] == (1, 4) and steps[-1] == (4, 4)
    fresh = tmp_path / "fresh.pptx"
    restyle_deck(ECE, fresh, options, editor=CountingEditor(tmp_path))
    assert parts(fresh) == parts(output)


def test_unknown_theme_is_refused_before_the_deck_is_read(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="There is no theme called 'no-such-look'"):
        restyle_deck(
            CORPUS / "fuzzed-broken-zip.pptx",
            tmp_path / "o.pptx",
            RestyleOptions(theme="no-such-look"),
            editor=CountingEditor(tmp_path),
        )


def test_geometry_instructions_are_refused(tmp_path: Path) -> None:
    editor = CountingEditor(tmp_path)
    assert editor.parse("crop to 16:9").changes_geometry
    with pytest.raises(BadInputError, match="keeps every picture's size"):
        restyle_deck(ECE, tmp_path / "o.pptx", RestyleOptions(prompt="crop to 16:9"), editor=editor)


def test_options_need_one_of_theme_or_prompt() -> None:
    with pytest.raises(BadInputError, match="exactly one"):
        RestyleOptions()
    with pytest.raises(BadInputError, match="exactly one"):
        RestyleOptions(theme="retro", prompt="make it warmer")


# -- the command ---------------------------------------------------------------------------------


def test_cli_restyle_json(tmp_path: Path) -> None:
    output = tmp_path / "out.pptx"
    result = CliRunner().invoke(
        app,
        [
            "deck",
            "restyle",
            str(CORPUS / "aptia.pptx"),
            "--prompt",
            "调亮一点",
            "-o",
            str(output),
            "--json",
            "--workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"] == {"edited": 4, "skipped": 2}
    assert report["output"] == str(output) and report["engine"] == "classic"
    assert len(changed_parts(CORPUS / "aptia.pptx", output)) == 4


def test_cli_dry_run_lists_usage(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["deck", "restyle", str(ECE), "--prompt", "make it warmer", "--dry-run", "--slides", "14-17"]
    )
    assert result.exit_code == 0, result.output
    assert "edit ppt/media/image5.png PNG 1046x682 on slides 17 via slide 17" in result.stdout
    assert " s: 3 pictures to restyle, 2 pictures on other slides kept" in result.stdout
    assert "skip ppt/media/image1.png" in result.stdout and "shared with slides outside" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([str(ECE), "--prompt", "make it warmer"], "Say where to write the restyled deck"),
        ([str(ECE), "--theme", "retro", "--prompt", "x", "-o", "{out}"], "exactly one of a theme"),
        ([str(ECE), "--prompt", "make it warmer", "-o", "{out}", "--slides", "30"], "the deck has 24 slides"),
        ([str(ECE), "--theme", "no-such-look", "-o", "{out}"], "There is no theme called 'no-such-look'"),
    ],
    ids=["no-output", "theme-and-prompt", "slides-beyond-deck", "unknown-theme"],
)
def test_cli_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out.pptx"
    result = CliRunner().invoke(app, ["deck", "restyle", *[a.replace("{out}", str(out)) for a in args]])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert not out.exists()


def test_cli_broken_deck_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    """The real console entry point, as a user runs it."""
    out = tmp_path / "out.pptx"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "deck",
            "restyle",
            str(CORPUS / "fuzzed-broken-zip.pptx"),
            "--prompt",
            "make it warmer",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "error: fuzzed-broken-zip.pptx is a damaged zip archive" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and not out.exists()


# -- themes: one theme, one look -----------------------------------------------------------------


def test_theme_by_chinese_name_restyles_every_picture(tmp_path: Path) -> None:
    """aptia's pictures are drawn backgrounds (kept by a theme by default): ``all`` restyles them."""
    output = tmp_path / "valentine.pptx"
    editor = CountingEditor(tmp_path)
    options = RestyleOptions(theme="情人节", pictures="all")
    report = restyle_deck(CORPUS / "aptia.pptx", output, options, editor=editor)
    assert report.instruction == "theme:valentine"
    assert report.plan["operations"][0] == {
        **report.plan["operations"][0],
        "op": "theme",
        "name": "valentine",
    }
    assert changed_parts(CORPUS / "aptia.pptx", output) == {
        "ppt/media/image1.jpeg",
        "ppt/media/image2.jpeg",
        "ppt/media/image4.jpeg",
        "ppt/media/image5.png",
    }
    assert editor.calls == 4


def test_one_theme_gives_one_look_across_decks(tmp_path: Path) -> None:
    """layouts.pptx and shapes.pptx carry the same picture; themed in two runs it comes out
    identical, and transparency survives the theme (all pictures: these are clip art and a logo)."""
    options = RestyleOptions(theme="retro", pictures="all")
    for name in ("layouts.pptx", "shapes.pptx", "54542_cropped_bitmap.pptx"):
        restyle_deck(CORPUS / name, tmp_path / name, options, editor=CountingEditor(tmp_path))
    a = parts(tmp_path / "layouts.pptx")["ppt/media/image1.jpg"]
    b = parts(tmp_path / "shapes.pptx")["ppt/media/image1.jpg"]
    assert a == b and a != parts(CORPUS / "shapes.pptx")["ppt/media/image1.jpg"]
    before = open_image(parts(CORPUS / "54542_cropped_bitmap.pptx")["ppt/media/image1.png"])
    after = open_image(parts(tmp_path / "54542_cropped_bitmap.pptx")["ppt/media/image1.png"])
    assert after.mode == "RGBA" and after.getchannel("A").tobytes() == before.getchannel("A").tobytes()


def test_cli_theme(tmp_path: Path) -> None:
    output = tmp_path / "out.pptx"
    result = CliRunner().invoke(
        app, ["deck", "restyle", str(CORPUS / "backgrounds.pptx"), "--theme", "cyberpunk", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "5 pictures restyled (classic" in " ".join(result.stderr.split())
    assert len(changed_parts(CORPUS / "backgrounds.pptx", output)) == 5
