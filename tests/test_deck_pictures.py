"""Every raster format restyled in its own format (animated GIFs frame by frame), vector pictures
kept with their reason, photos told from logos and charts, the deck's colour scheme, the
report's sentence, and slide previews rendered by LibreOffice."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence
from typer.testing import CliRunner

from cli.main import app
from imgedit.errors import BadInputError
from plugins.pptx import RestyleOptions, restyle_deck
from plugins.pptx.kinds import classify
from tests.conftest import skimage_photo
from tests.deck_helpers import CORPUS, CountingEditor, build_deck, changed_parts, open_image, parts

WARMER = RestyleOptions(prompt="make it warmer")


def _photo(name: str = "chelsea", size: tuple[int, int] = (160, 120)) -> Image.Image:
    return skimage_photo(name).resize(size)


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _animated_gif() -> bytes:
    """Three frames of a real photo, 80/120/200 ms, looping, with a transparent border."""
    frames = []
    for shift in range(3):
        photo = skimage_photo("coffee").crop((shift * 40, 0, shift * 40 + 160, 120))
        frame = photo.quantize(255)
        frame.paste(255, (0, 0, 160, 10))  # index 255: transparent
        frames.append(frame)
    return _encoded(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[80, 120, 200],
        loop=0,
        transparency=255,
        disposal=2,
    )


def _warmth(image: Image.Image) -> float:
    """Mean red minus mean blue over the opaque pixels."""
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
    opaque = rgba[..., 3] > 0
    return float(rgba[..., 0][opaque].mean() - rgba[..., 2][opaque].mean())


def _corpus_part(deck: str, name: str) -> bytes:
    with zipfile.ZipFile(CORPUS / deck) as archive:
        return archive.read(name)


def test_every_raster_format_is_restyled_in_its_own_format_and_vectors_are_kept(tmp_path: Path) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="90" height="90"><circle r="40" cx="45" cy="45"/>'
    svg += b"</svg>"
    deck = build_deck(
        tmp_path / "formats.pptx",
        [
            ("gif", _animated_gif()),
            ("gif", _encoded(_photo("astronaut"), "GIF")),
            ("tiff", _encoded(_photo("coffee"), "TIFF", compression="tiff_deflate")),
            ("bmp", _encoded(_photo("rocket"), "BMP")),
            ("webp", _encoded(_photo("chelsea").convert("RGBA"), "WEBP", lossless=True)),
            ("webp", _encoded(_photo("astronaut"), "WEBP", quality=80)),
            ("svg", svg),
            ("pdf", _encoded(_photo("coffee"), "PDF")),
        ],
    )
    output = tmp_path / "out.pptx"
    editor = CountingEditor(tmp_path)
    report = restyle_deck(deck, output, WARMER, editor=editor)
    raster = {
        "ppt/media/image1.gif",
        "ppt/media/image2.gif",
        "ppt/media/image3.tiff",
        "ppt/media/image4.bmp",
        "ppt/media/picture5.webp",
        "ppt/media/picture6.webp",
    }
    assert changed_parts(deck, output) == raster
    assert editor.calls == 3 + 5  # every frame of the animation, then one per still picture
    before, after = parts(deck), parts(output)
    for name in raster:
        old, new = open_image(before[name]), open_image(after[name])
        assert (new.format, new.size) == (old.format, old.size), name
        assert _warmth(new) > _warmth(old) + 3, name
    tiff = "ppt/media/image3.tiff"
    assert open_image(after[tiff]).info["compression"] == open_image(before[tiff]).info["compression"]
    assert after["ppt/media/picture5.webp"][12:16] == b"VP8L"  # lossless stays lossless
    assert after["ppt/media/picture6.webp"][12:16] != b"VP8L"

    animation = open_image(after["ppt/media/image1.gif"])
    assert getattr(animation, "n_frames", 1) == 3 and animation.info["loop"] == 0
    frames = [frame.convert("RGBA") for frame in ImageSequence.Iterator(animation)]
    durations = [
        frame.info["duration"] for frame in ImageSequence.Iterator(open_image(after["ppt/media/image1.gif"]))
    ]
    assert durations == [80, 120, 200]
    originals = [
        frame.convert("RGBA") for frame in ImageSequence.Iterator(open_image(before["ppt/media/image1.gif"]))
    ]
    for old_frame, new_frame in zip(originals, frames, strict=True):
        assert np.array_equal(np.asarray(old_frame)[..., 3] == 0, np.asarray(new_frame)[..., 3] == 0)
        assert _warmth(new_frame) > _warmth(old_frame) + 3

    kept = {image.name: image for image in report.images if image.status == "skipped"}
    assert kept["ppt/media/picture7.svg"].reason.startswith("vector picture (SVG): kept as drawn")
    assert kept["ppt/media/picture8.pdf"].kind == "vector"
    assert report.summary_text == "6 pictures restyled, 2 vectors kept"


def test_photos_are_told_from_logos_charts_and_diagrams() -> None:
    graphics = {
        "ececapstonespring2012.pptx": ["image3.png", "image4.png", "image5.png"],  # diagrams, a Gantt chart
        "bug62736.pptx": ["image1.png"],  # the "Powered by Apache" logo
        "54542_cropped_bitmap.pptx": ["image1.png"],  # the Apache POI logo
        "56812.pptx": ["image1.jpg"],  # the same logo as a JPEG
        "EmbeddedAudio.pptx": ["image1.png"],  # a loudspeaker icon
    }
    photos = {"chart-picture-bg.pptx": ["image1.jpg"], "backgrounds.pptx": ["image1.jpeg", "image5.jpeg"]}
    for expected, decks in (("graphic", graphics), ("photo", photos)):
        for deck, names in decks.items():
            for name in names:
                picture = open_image(_corpus_part(deck, f"ppt/media/{name}"))
                assert classify(picture).kind == expected, (deck, name)
    for name in ("astronaut", "coffee", "chelsea", "rocket", "moon", "grass"):
        assert classify(skimage_photo(name)).kind == "photo", name


def test_a_theme_restyles_photos_and_keeps_charts_unless_asked_for_all(tmp_path: Path) -> None:
    gantt = _corpus_part("ececapstonespring2012.pptx", "ppt/media/image5.png")
    deck = build_deck(tmp_path / "mixed.pptx", [("png", _encoded(_photo(), "PNG")), ("png", gantt)])
    themed = tmp_path / "themed.pptx"
    report = restyle_deck(deck, themed, RestyleOptions(theme="retro"), editor=CountingEditor(tmp_path))
    assert changed_parts(deck, themed) == {"ppt/media/image1.png"}
    chart = next(image for image in report.images if image.name == "ppt/media/image2.png")
    assert (chart.status, chart.kind, chart.kept_because) == ("skipped", "graphic", "graphic")
    assert "--pictures all" in chart.reason
    assert report.summary_text == "1 picture restyled, 1 logo or chart kept"

    everything = tmp_path / "all.pptx"
    report = restyle_deck(
        deck, everything, RestyleOptions(theme="复古", pictures="all"), editor=CountingEditor(tmp_path)
    )
    assert changed_parts(deck, everything) == {"ppt/media/image1.png", "ppt/media/image2.png"}
    assert report.summary_text == "已重新设计 2 张图片"
    prompt = restyle_deck(deck, tmp_path / "p.pptx", RestyleOptions(prompt="调亮一点"), dry_run=True)
    assert prompt.pictures == "all" and prompt.summary_text == "将重新设计 2 张图片"


def test_theme_colors_change_only_the_colour_scheme(tmp_path: Path) -> None:
    source = CORPUS / "aptia.pptx"
    output = tmp_path / "valentine.pptx"
    options = RestyleOptions(theme="valentine", theme_colors=True)
    report = restyle_deck(source, output, options, editor=CountingEditor(tmp_path))
    themes = {name for name in parts(source) if name.startswith("ppt/theme/theme")}
    assert changed_parts(source, output) == themes  # aptia's pictures are drawn backgrounds: kept
    old, new = parts(source)["ppt/theme/theme1.xml"], parts(output)["ppt/theme/theme1.xml"]
    assert len(old) == len(new)
    differing = [i for i in range(len(old)) if old[i] != new[i]]
    assert old.index(b"<a:clrScheme") < differing[0] and differing[-1] < old.index(b"</a:clrScheme>")
    accent1 = next(c for c in report.theme_colors if c.part == "ppt/theme/theme1.xml" and c.slot == "accent1")
    assert accent1.before == "#F89728" and accent1.after != accent1.before
    red, _, blue = (int(accent1.after[i : i + 2], 16) for i in (1, 3, 5))
    assert red > blue  # still a warm orange, pinker
    assert report.summary_text.endswith(f"{len(report.theme_colors)} theme colours changed")

    plain = tmp_path / "plain.pptx"
    restyle_deck(source, plain, RestyleOptions(theme="valentine"), editor=CountingEditor(tmp_path))
    assert changed_parts(source, plain) == set()  # off by default
    with pytest.raises(BadInputError, match="--theme-colors"):
        RestyleOptions(prompt="make it warmer", theme_colors=True)


def test_cli_pictures_theme_colors_and_the_sentence(tmp_path: Path) -> None:
    output = tmp_path / "out.pptx"
    result = CliRunner().invoke(
        app,
        [
            "deck",
            "restyle",
            str(CORPUS / "ececapstonespring2012.pptx"),
            "--theme",
            "retro",
            "-o",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "no picture restyled, 5 logos and charts kept" in said
    assert "kept ppt/media/image5.png: a logo, chart, diagram or screenshot" in said
    result = CliRunner().invoke(
        app,
        [
            "deck",
            "restyle",
            str(CORPUS / "backgrounds.pptx"),
            "--theme",
            "retro",
            "--pictures",
            "all",
            "--theme-colors",
            "-o",
            str(output),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pictures"] == "all" and data["summary_text"].startswith("5 pictures restyled, ")
    assert data["theme_colors"] and data["changed_slides"] == list(range(1, data["slide_count"] + 1))
    bad = CliRunner().invoke(
        app,
        [
            "deck",
            "restyle",
            str(CORPUS / "backgrounds.pptx"),
            "--theme",
            "retro",
            "--pictures",
            "some",
            "-o",
            str(output),
        ],
    )
    assert bad.exit_code == 2 and "--pictures is 'photos' or 'all'" in bad.stderr


def test_preview_renders_the_changed_slides_before_and_after(tmp_path: Path) -> None:
    """backgrounds.pptx has picture backgrounds on slides 3 and 4 of 4: one labelled row for each,
    the after slide warmer than the before."""
    preview = tmp_path / "preview.png"
    report = restyle_deck(
        CORPUS / "backgrounds.pptx",
        tmp_path / "out.pptx",
        WARMER,
        editor=CountingEditor(tmp_path),
        preview=preview,
    )
    assert report.changed_slides == [3, 4]
    sheet = open_image(preview.read_bytes())
    assert sheet.format == "PNG" and sheet.width == 3 * 16 + 2 * 480
    slide_height = 360  # 4:3 slides at 480 px
    assert sheet.height == 16 + 28 + 2 * (slide_height + 28 + 16)
    pixels = np.asarray(sheet.convert("RGB"), dtype=np.int16)
    row = pixels[16 + 28 + 28 : 16 + 28 + 28 + slide_height]
    before, after = row[:, 16 : 16 + 480], row[:, 32 + 480 : 32 + 960]
    assert before.std() > 10  # a rendered slide, not a blank
    assert np.abs(before - after).mean() > 3  # the after slide is the warmer one
    assert _warmth(Image.fromarray(after.astype(np.uint8))) > _warmth(
        Image.fromarray(before.astype(np.uint8))
    )


def test_preview_without_libreoffice_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without LibreOffice
    editor = CountingEditor(tmp_path)
    with pytest.raises(BadInputError, match="LibreOffice, which is not installed") as refused:
        restyle_deck(
            CORPUS / "backgrounds.pptx",
            tmp_path / "o.pptx",
            WARMER,
            editor=editor,
            preview=tmp_path / "p.png",
        )
    assert "apt-get install libreoffice-impress" in str(refused.value)
    assert editor.calls == 0 and not (tmp_path / "o.pptx").exists()


@pytest.mark.parametrize(
    ("language", "words"), [("zh", ["修改前", "修改后", "第3页"]), ("en", ["Before", "After", "Slide 3"])]
)
def test_preview_labels_follow_the_language_of_the_request(language: str, words: list[str]) -> None:
    """A deck restyled with a Chinese prompt gets a sheet labelled in Chinese, read back by OCR."""
    from engine.classic.ocr import read_text
    from plugins.pptx.preview import LABELS, _sheet

    slide = Image.new("RGB", (480, 360), "#dddddd")
    sheet = _sheet([(3, slide, slide)], hidden=0, labels=LABELS[language])
    read = " ".join(line.text for line in read_text(np.asarray(sheet.convert("RGB"))))
    assert all(word.replace(" ", "") in read.replace(" ", "") for word in words), read
