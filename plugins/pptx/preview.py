"""``--preview``: the slides that changed, before and after, as the audience will see them.

Pictures alone do not show what a restyle does to a deck (a background shared by twenty slides,
a logo kept, a crop), so the preview renders whole slides: LibreOffice (headless) turns the
original and the restyled deck into PDFs, PDFium (``pypdfium2``) rasterises the changed slides'
pages, and one PNG shows a row per slide, labelled *Slide N*, *Before* and *After* (in Chinese
when the deck was restyled with a Chinese prompt or theme name: 第N页, 修改前, 修改后).

LibreOffice is an optional runtime dependency: without it ``--preview`` is refused before any
work is done, saying how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from engine.imageio import save_image
from imgedit.errors import BadInputError, EngineError

#: Width of each slide image in the sheet; slides are 4:3 or 16:9, so rows stay short.
SLIDE_WIDTH = 480
#: At most this many changed slides are drawn (a master background changes every slide).
MAX_SLIDES = 12
_PAD = 16
_LABEL = 28
_TIMEOUT = 180


@dataclass(frozen=True)
class _Labels:
    before: str
    after: str
    slide: str  # with {n}
    none: str
    more: str  # with {n}


LABELS: dict[str, _Labels] = {
    "en": _Labels("Before", "After", "Slide {n}", "No slide changed.", "… and {n} more changed slide(s)."),
    "zh": _Labels("修改前", "修改后", "第{n}页", "没有幻灯片被修改。", "……另有{n}页已修改。"),
}


def find_libreoffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_libreoffice() -> str:
    """The LibreOffice command, or a ``BadInputError`` saying how to get it."""
    found = find_libreoffice()
    if found is None:
        raise BadInputError(
            "--preview renders slides with LibreOffice, which is not installed here.",
            hint="Install it (Debian/Ubuntu: apt-get install libreoffice-impress; others: "
            "libreoffice.org) and try again, or leave out --preview.",
        )
    return found


def slide_preview(
    before: Path, after: Path, slides: list[int], output: Path, *, language: Literal["zh", "en"] = "en"
) -> Path:
    """Write a PNG with a Before/After row for each of ``slides`` (1-based) to ``output``, labelled
    in ``language``."""
    soffice = require_libreoffice()
    shown = slides[:MAX_SLIDES]
    with tempfile.TemporaryDirectory(prefix="imgedit-preview-") as folder:
        work = Path(folder)
        decks = [work / "before.pptx", work / "after.pptx"]
        for link, target in zip(decks, (before, after), strict=True):
            link.symlink_to(Path(target).resolve())
        pdfs = _to_pdf(soffice, decks, work)
        rows = [(n, _page(pdfs[0], n), _page(pdfs[1], n)) for n in shown]
    sheet = _sheet(rows, hidden=len(slides) - len(shown), labels=LABELS[language])
    return save_image(sheet, output, "PNG")


def _to_pdf(soffice: str, decks: list[Path], work: Path) -> list[Path]:
    """Both decks as PDFs, in one LibreOffice run with a private profile (no clash with a
    LibreOffice the user has open)."""
    command = [
        soffice,
        f"-env:UserInstallation={(work / 'profile').as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        str(work / "pdf"),
        *map(str, decks),
    ]
    try:
        subprocess.run(
            command, check=True, capture_output=True, timeout=_TIMEOUT, env={**os.environ, "HOME": str(work)}
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        raise EngineError(f"LibreOffice could not render the deck for the preview ({exc}).") from exc
    pdfs = [work / "pdf" / f"{deck.stem}.pdf" for deck in decks]
    if not all(pdf.is_file() for pdf in pdfs):
        raise EngineError("LibreOffice did not render the deck for the preview.")
    return pdfs


def _page(pdf: Path, number: int) -> Image.Image:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        page = document[number - 1]
        scale = SLIDE_WIDTH / page.get_width()
        image: Image.Image = page.render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()
    return image


def _font(labels: _Labels) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A face that has the labels' glyphs (Pillow's own font has no Chinese)."""
    text = labels.before + labels.after + labels.slide + labels.none + labels.more
    if text.isascii():
        return ImageFont.load_default(size=18)
    from engine.classic.fonts import find_font  # the fonts the engine renders Chinese text with

    return find_font(text).at(18)


def _sheet(rows: list[tuple[int, Image.Image, Image.Image]], hidden: int, labels: _Labels) -> Image.Image:
    font = _font(labels)
    slide_height = max((max(b.height, a.height) for _, b, a in rows), default=0)
    width = 3 * _PAD + 2 * SLIDE_WIDTH
    footer = _LABEL if hidden or not rows else 0
    height = _PAD + _LABEL + len(rows) * (slide_height + _LABEL + _PAD) + footer
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for column, label in enumerate((labels.before, labels.after)):
        draw.text((_PAD + column * (SLIDE_WIDTH + _PAD), _PAD), label, fill="black", font=font)
    y = _PAD + _LABEL
    for number, before, after in rows:
        draw.text((_PAD, y), labels.slide.format(n=number), fill="#555555", font=font)
        for column, slide in enumerate((before, after)):
            x = _PAD + column * (SLIDE_WIDTH + _PAD)
            sheet.paste(slide, (x, y + _LABEL))
            top = y + _LABEL
            draw.rectangle((x - 1, top - 1, x + slide.width, top + slide.height), outline="#999999")
        y += slide_height + _LABEL + _PAD
    if not rows:
        draw.text((_PAD, y), labels.none, fill="black", font=font)
    elif hidden:
        draw.text((_PAD, y), labels.more.format(n=hidden), fill="black", font=font)
    return sheet
