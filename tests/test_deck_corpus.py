"""Every corpus deck restyled with the real classic engine: the result opens in python-pptx and
LibreOffice, exactly the pictures that should change did, shared pictures were edited once, and
nothing else (XML, crops, sizes, positions, media) moved by a byte."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from plugins.pptx import DeckReport, RestyleOptions, restyle_deck
from tests.deck_helpers import (
    CORPUS,
    GOOD_DECKS,
    CountingEditor,
    changed_parts,
    entries,
    open_image,
    parts,
)

WARMER = RestyleOptions(prompt="make it warmer")

#: What a person sees when opening each deck: the picture parts a restyle must change. Everything
#: else (thumbnails, the 39x36 icon in aptia, audio, embedded workbooks, XML) must stay identical.
EXPECTED_CHANGES = {
    "54542_cropped_bitmap.pptx": {"ppt/media/image1.png"},
    "56812.pptx": {"ppt/media/image1.jpg"},
    "EmbeddedAudio.pptx": {"ppt/media/image1.png"},
    "aptia.pptx": {
        "ppt/media/image1.jpeg",
        "ppt/media/image2.jpeg",
        "ppt/media/image4.jpeg",
        "ppt/media/image5.png",
    },
    "backgrounds.pptx": {f"ppt/media/image{n}.jpeg" for n in range(1, 6)},
    "bug60499.pptx": {"ppt/media/image1.png"},
    "bug62736.pptx": {"ppt/media/image1.png"},
    "chart-picture-bg.pptx": {"ppt/media/image1.jpg"},
    "ececapstonespring2012.pptx": {f"ppt/media/image{n}.png" for n in range(1, 6)},
    "layouts.pptx": {"ppt/media/image1.jpg"},
    "shapes.pptx": {"ppt/media/image1.jpg"},
}
#: Engine calls: one per distinct picture. ececapstone's two masters carry byte-identical
#: backgrounds (image1.png == image2.png), edited once and written to both parts.
EXPECTED_CALLS = {name: len(parts) for name, parts in EXPECTED_CHANGES.items()}
EXPECTED_CALLS["ececapstonespring2012.pptx"] = 4


class Restyled:
    def __init__(self, source: Path, output: Path, report: DeckReport, calls: int) -> None:
        self.source, self.output, self.report, self.calls = source, output, report, calls


@pytest.fixture(scope="module")
def restyled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Restyled]:
    """Each good corpus deck restyled once (threads over a counting real editor)."""
    folder = tmp_path_factory.mktemp("decks")
    done: dict[str, Restyled] = {}
    for name in GOOD_DECKS:
        editor = CountingEditor(folder / "home")
        output = folder / name
        report = restyle_deck(CORPUS / name, output, WARMER, editor=editor)
        done[name] = Restyled(CORPUS / name, output, report, editor.calls)
    return done


def test_the_corpus_is_there() -> None:
    assert set(GOOD_DECKS) == set(EXPECTED_CHANGES), (
        f"corpus at {CORPUS} is not the expected one (set IMGEDIT_CORPUS_DIR to shared/corpus/pptx)"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_CHANGES))
def test_exactly_the_pictures_change(restyled: dict[str, Restyled], name: str) -> None:
    deck = restyled[name]
    assert changed_parts(deck.source, deck.output) == EXPECTED_CHANGES[name]
    # Unchanged entries are copied as stored: same order, method, timestamp, CRC and compressed bytes.
    old, new = entries(deck.source), entries(deck.output)
    assert [e[:3] for e in old] == [e[:3] for e in new]
    assert [e for e in old if e[0] not in EXPECTED_CHANGES[name]] == [
        e for e in new if e[0] not in EXPECTED_CHANGES[name]
    ]
    assert deck.calls == EXPECTED_CALLS[name]
    assert deck.report.engine_calls == EXPECTED_CALLS[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_CHANGES))
def test_pictures_keep_format_size_and_transparency_and_get_warmer(
    restyled: dict[str, Restyled], name: str
) -> None:
    deck = restyled[name]
    before, after = parts(deck.source), parts(deck.output)
    for part in EXPECTED_CHANGES[name]:
        old, new = open_image(before[part]), open_image(after[part])
        assert (new.format, new.size) == (old.format, old.size), part
        if "A" in old.getbands():
            assert new.mode == "RGBA", part
            assert np.array_equal(np.asarray(old.getchannel("A")), np.asarray(new.getchannel("A"))), part
        a = np.asarray(old.convert("RGB"), dtype=np.float64)
        b = np.asarray(new.convert("RGB"), dtype=np.float64)
        # Warmer: red rises against blue (unless the picture is already saturated).
        assert (b[..., 0] - b[..., 2]).mean() > (a[..., 0] - a[..., 2]).mean() + 1.0, part


@pytest.mark.parametrize("name", sorted(EXPECTED_CHANGES))
def test_opens_in_python_pptx_with_shapes_where_they_were(restyled: dict[str, Restyled], name: str) -> None:
    deck = restyled[name]
    old, new = Presentation(str(deck.source)), Presentation(str(deck.output))
    assert len(new.slides) == len(old.slides)

    def walk(shapes) -> list[tuple]:  # type: ignore[no-untyped-def]
        rows: list[tuple] = []
        for shape in shapes:
            row: tuple = (shape.shape_id, shape.name, shape.left, shape.top, shape.width, shape.height)
            if hasattr(shape, "crop_left"):
                row += (shape.crop_left, shape.crop_right, shape.crop_top, shape.crop_bottom)
            rows.append(row)
            if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
                rows.extend(walk(shape.shapes))
        return rows

    def geometry(presentation) -> list[tuple]:  # type: ignore[no-untyped-def]
        rows = []
        for slide in presentation.slides:
            rows.extend(walk(slide.shapes))
        for master in presentation.slide_masters:
            rows.extend(walk(master.shapes))
            for layout in master.slide_layouts:
                rows.extend(walk(layout.shapes))
        return rows

    assert geometry(new) == geometry(old)
    assert (new.slide_width, new.slide_height) == (old.slide_width, old.slide_height)


def test_cropped_pictures_in_groups_keep_their_crops(restyled: dict[str, Restyled]) -> None:
    deck = restyled["54542_cropped_bitmap.pptx"]
    xml = parts(deck.output)["ppt/slides/slide1.xml"]
    assert xml == parts(deck.source)["ppt/slides/slide1.xml"]
    assert xml.count(b"<a:srcRect") >= 1 and xml.count(b'r:embed="rId2"') == 6
    report = deck.report
    (image,) = [i for i in report.images if i.name == "ppt/media/image1.png"]
    assert image.pictures == 6 and image.status == "edited"


def test_reports_where_each_picture_is_used(restyled: dict[str, Restyled]) -> None:
    images = {i.name: i for i in restyled["aptia.pptx"].report.images}
    assert images["ppt/media/image1.jpeg"].used_by == ["layout slideLayout1.xml", "master slideMaster1.xml"]
    assert images["ppt/media/image1.jpeg"].slides == list(range(1, 10))
    assert images["ppt/media/image3.jpeg"].status == "skipped"
    assert "tiny image (39x36" in images["ppt/media/image3.jpeg"].reason
    assert images["docProps/thumbnail.jpeg"].status == "skipped"
    chart = {i.name: i for i in restyled["chart-picture-bg.pptx"].report.images}["ppt/media/image1.jpg"]
    assert chart.used_by == ["chart chart1.xml"] and chart.slides == [1]
    ece = {i.name: i for i in restyled["ececapstonespring2012.pptx"].report.images}
    assert ece["ppt/media/image2.png"].status == "reused"
    assert ece["ppt/media/image2.png"].reason == "same picture as ppt/media/image1.png"
    linked = restyled["56812.pptx"].report.warnings
    assert any("linked image file://localhost" in w for w in linked)


def test_libreoffice_converts_every_restyled_deck(restyled: dict[str, Restyled], tmp_path: Path) -> None:
    soffice = shutil.which("libreoffice") or shutil.which("soffice")
    assert soffice, "LibreOffice is part of the test set-up (apt-get install libreoffice-impress)"
    outputs = [str(deck.output) for deck in restyled.values()]
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            *outputs,
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    for output in outputs:
        pdf = tmp_path / "pdf" / (Path(output).stem + ".pdf")
        assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF"), pdf.name
        assert pdf.stat().st_size > 1000, pdf.name


def test_process_pool_gives_the_same_deck_as_threads(restyled: dict[str, Restyled], tmp_path: Path) -> None:
    name = "ececapstonespring2012.pptx"
    output = tmp_path / name
    options = RestyleOptions(prompt="make it warmer", workers=2)
    report = restyle_deck(CORPUS / name, output, options, mode="process")
    assert report.mode == "process" and report.engine_calls == 4
    assert parts(output) == parts(restyled[name].output)
