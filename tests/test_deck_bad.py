"""Malformed and hostile decks: a clear ``BadInputError`` naming the problem, and no output file
(not even a temporary one) left behind."""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from imgedit.errors import BadInputError, ImageTooLargeError
from plugins.pptx import RestyleOptions, restyle_deck
from tests.deck_helpers import CORPUS, CountingEditor, changed_parts

WARMER = RestyleOptions(prompt="make it warmer")


def _rewrite(
    source: Path, target: Path, replace: dict[str, bytes], add: dict[str, bytes] | None = None
) -> Path:
    """A copy of a corpus deck with some parts replaced or added (as a hostile sender would)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, replace.get(info.filename, old.read(info)))
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def _refuses(source: Path, tmp_path: Path, match: str, error: type[BadInputError] = BadInputError) -> None:
    output = tmp_path / "out" / "restyled.pptx"
    with pytest.raises(error, match=match):
        restyle_deck(source, output, WARMER, editor=CountingEditor(tmp_path / "home"))
    assert not output.parent.exists() or list(output.parent.iterdir()) == []


def test_not_a_zip(tmp_path: Path) -> None:
    text = tmp_path / "notes.pptx"
    text.write_text("these are my speaker notes, not a deck")
    _refuses(text, tmp_path, r"notes\.pptx is not a \.pptx deck \(it is not a zip archive\)")


def test_legacy_or_encrypted_deck(tmp_path: Path) -> None:
    ole = tmp_path / "old.pptx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    _refuses(ole, tmp_path, "legacy .ppt or a password-protected deck")


def test_fuzzed_broken_zip(tmp_path: Path) -> None:
    _refuses(CORPUS / "fuzzed-broken-zip.pptx", tmp_path, r"fuzzed-broken-zip\.pptx is a damaged zip archive")


def test_zip_that_is_not_a_deck(tmp_path: Path) -> None:
    archive = tmp_path / "photos.pptx"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("a.txt", "hello")
    _refuses(archive, tmp_path, r"not a PowerPoint deck \(it has no \[Content_Types\]\.xml\)")


def test_damaged_picture_entry(tmp_path: Path) -> None:
    """A stored picture whose bytes no longer match their CRC."""
    deck = tmp_path / "crc.pptx"
    shutil.copy(CORPUS / "layouts.pptx", deck)
    with zipfile.ZipFile(deck) as archive:
        info = archive.getinfo("ppt/media/image1.jpg")
    assert info.compress_type == zipfile.ZIP_STORED
    raw = bytearray(deck.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + 500] ^= 0xFF
    deck.write_bytes(bytes(raw))
    _refuses(deck, tmp_path, r"crc\.pptx is damaged: its part 'ppt/media/image1\.jpg' cannot be read")


def test_picture_with_no_image_is_skipped_with_a_warning(tmp_path: Path) -> None:
    output = tmp_path / "out.pptx"
    report = restyle_deck(CORPUS / "missing-blip-fill.pptx", output, WARMER, editor=CountingEditor(tmp_path))
    assert report.warnings == [
        "slide 1: the shape 'Shape 662' has no image behind it (an empty picture fill); left as it is"
    ]
    assert changed_parts(CORPUS / "missing-blip-fill.pptx", output) == set()


def test_blip_naming_a_missing_relationship_is_a_warning_and_the_rest_is_done(tmp_path: Path) -> None:
    source = CORPUS / "bug60499.pptx"
    with zipfile.ZipFile(source) as archive:
        slide = archive.read("ppt/slides/slide1.xml")
    broken = slide.replace(b'r:embed="rId3"', b'r:embed="rId99"', 1)
    assert broken != slide
    deck = _rewrite(source, tmp_path / "dangling.pptx", {"ppt/slides/slide1.xml": broken})
    report = restyle_deck(deck, tmp_path / "out.pptx", WARMER, editor=CountingEditor(tmp_path))
    assert any(
        "refers to image relationship rId99, which the part does not have" in w for w in report.warnings
    )
    assert changed_parts(deck, tmp_path / "out.pptx") == {"ppt/media/image1.png"}


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    """64 MiB of zeros hidden in a 64 KiB entry: refused from the zip directory, nothing inflated."""
    deck = _rewrite(
        CORPUS / "shapes.pptx", tmp_path / "bomb.pptx", {}, {"ppt/media/image9.png": bytes(64 << 20)}
    )
    assert deck.stat().st_size < 1 << 20
    _refuses(
        deck,
        tmp_path,
        r"looks like a zip bomb: the part 'ppt/media/image9\.png' declares",
        ImageTooLargeError,
    )


def test_zip_bomb_declaring_sizes_beyond_the_file(tmp_path: Path) -> None:
    """A central directory that claims a 4 GB picture in a small file."""
    deck = tmp_path / "liar.pptx"
    shutil.copy(CORPUS / "layouts.pptx", deck)
    raw = bytearray(deck.read_bytes())
    name = b"ppt/media/image1.jpg"
    at = raw.find(b"PK\x01\x02")  # central directory headers
    while at != -1:
        name_len = struct.unpack_from("<H", raw, at + 28)[0]
        if bytes(raw[at + 46 : at + 46 + name_len]) == name:
            struct.pack_into("<I", raw, at + 24, 0xFFFF0000)  # uncompressed size
            break
        at = raw.find(b"PK\x01\x02", at + 4)
    assert at != -1
    deck.write_bytes(bytes(raw))
    _refuses(deck, tmp_path, "looks like a zip bomb", ImageTooLargeError)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main">&lol3;</p:sld>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">&xxe;</Relationships>"""


@pytest.mark.parametrize(
    ("part", "data"),
    [("ppt/slides/slide1.xml", BILLION_LAUGHS), ("ppt/slides/_rels/slide1.xml.rels", EXTERNAL_ENTITY)],
    ids=["entity-expansion", "external-entity"],
)
def test_entity_laden_xml_is_refused(tmp_path: Path, part: str, data: bytes) -> None:
    deck = _rewrite(CORPUS / "shapes.pptx", tmp_path / "evil.pptx", {part: data})
    _refuses(deck, tmp_path, f"the part '{part}' declares a DOCTYPE")


def test_malformed_xml_names_the_part(tmp_path: Path) -> None:
    deck = _rewrite(CORPUS / "shapes.pptx", tmp_path / "cut.pptx", {"ppt/slides/slide2.xml": b"<p:sld><oops"})
    _refuses(deck, tmp_path, r"the part 'ppt/slides/slide2\.xml' is not well-formed XML")


def test_failure_keeps_an_existing_output_untouched(tmp_path: Path) -> None:
    output = tmp_path / "out" / "restyled.pptx"
    output.parent.mkdir()
    output.write_bytes(b"previous result")
    with pytest.raises(BadInputError):
        restyle_deck(CORPUS / "fuzzed-broken-zip.pptx", output, WARMER, editor=CountingEditor(tmp_path))
    assert output.read_bytes() == b"previous result"
    assert [p.name for p in output.parent.iterdir()] == ["restyled.pptx"]
