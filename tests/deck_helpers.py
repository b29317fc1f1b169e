"""Shared by the deck tests: the corpus location, a counting wrapper around a real Editor, and
package comparison."""

from __future__ import annotations

import io
import os
import subprocess
import threading
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image

from engine import Editor
from engine.types import EditResult
from imgedit.config import Settings


def corpus_dir() -> Path:
    """The shared .pptx corpus: ``IMGEDIT_CORPUS_DIR``, else ``shared/corpus/pptx`` beside this
    checkout, else beside the checkout it was cloned from (a ``git clone`` into a temporary
    folder, as a new contributor or CI makes one, has no ``shared/`` of its own)."""
    if os.environ.get("IMGEDIT_CORPUS_DIR"):
        return Path(os.environ["IMGEDIT_CORPUS_DIR"])
    root = Path(__file__).resolve().parents[1]
    bases = [root.parent]
    origin = subprocess.run(
        ["git", "-C", str(root), "config", "--get", "remote.origin.url"], capture_output=True, text=True
    ).stdout.strip()
    if origin and Path(origin).is_dir():
        bases.append(Path(origin).resolve().parent)
    for base in bases:
        if (base / "shared" / "corpus" / "pptx").is_dir():
            return base / "shared" / "corpus" / "pptx"
    return bases[0] / "shared" / "corpus" / "pptx"


CORPUS = corpus_dir()
MALFORMED = {"fuzzed-broken-zip.pptx", "missing-blip-fill.pptx"}
GOOD_DECKS = sorted(p.name for p in CORPUS.glob("*.pptx") if p.name not in MALFORMED)


class CountingEditor(Editor):
    """A real classic ``Editor`` that counts how often it is asked to edit (from any thread)."""

    def __init__(self, home: Path) -> None:
        super().__init__(engine="classic", settings=Settings(home=home, nsfw_check=False))
        self.calls = 0
        self._count_lock = threading.Lock()

    def edit(self, *args: Any, **kwargs: Any) -> EditResult:
        with self._count_lock:
            self.calls += 1
        return super().edit(*args, **kwargs)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def entries(path: Path) -> list[tuple[str, int, tuple[int, ...], int, int, int]]:
    """Each zip entry's name, method, timestamp, CRC, compressed size and attributes, in order;
    ``testzip`` first checks every entry's CRC."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return [
            (i.filename, i.compress_type, i.date_time, i.CRC, i.compress_size, i.external_attr)
            for i in archive.infolist()
        ]


def changed_parts(before: Path, after: Path) -> set[str]:
    old, new = parts(before), parts(after)
    assert list(old) == list(new), "the restyled deck must have the same parts in the same order"
    return {name for name in old if old[name] != new[name]}


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


#: Content types of the picture formats python-pptx cannot add itself (it knows PNG, JPEG, GIF,
#: TIFF, BMP and WMF): such a picture goes in as a PNG stand-in and its part is then given these
#: bytes, name and type, as PowerPoint itself stores them.
_SWAPPED_TYPES = {
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "emf": "image/x-emf",
}


def build_deck(path: Path, pictures: list[tuple[str, bytes]]) -> Path:
    """A real deck (python-pptx) with one slide per ``(extension, bytes)`` picture."""
    from pptx import Presentation
    from pptx.opc.packuri import PackURI
    from pptx.util import Inches

    deck = Presentation()
    stand_in = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(stand_in, "PNG")
    for index, (extension, data) in enumerate(pictures, start=1):
        slide = deck.slides.add_slide(deck.slide_layouts[6])
        swapped = extension in _SWAPPED_TYPES
        # a distinct stand-in per picture, so that python-pptx does not share one part between them
        blob = stand_in.getvalue() + bytes([index]) if swapped else data
        picture = slide.shapes.add_picture(io.BytesIO(blob), Inches(1), Inches(1), width=Inches(4))
        if swapped:
            part = slide.part.related_part(picture._element.blipFill.blip.rEmbed)
            part._blob = data
            part.partname = PackURI(f"/ppt/media/picture{index}.{extension}")
            part._content_type = _SWAPPED_TYPES[extension]
    deck.save(str(path))
    return path
