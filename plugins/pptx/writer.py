"""Writing the restyled deck: the original zip with only the image entries replaced.

python-pptx's ``save()`` re-serialises every XML part, and even ``zipfile`` would recompress
every entry, so the deck is written here entry by entry: unchanged entries are copied as their
original *compressed* bytes (same name, order, method, timestamp, CRC, attributes), and only the
restyled images are compressed anew with their original method. The deck goes to a temporary file
beside the output and is renamed into place, so the output is either complete or absent.

``DeckZip`` has already refused archives over 2 GiB of content, so no entry or offset here needs
ZIP64 records.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from imgedit.errors import BadInputError
from plugins.pptx.safezip import DeckZip

_LOCAL = struct.Struct("<4s5H3L2H")  # signature ... name length, extra length (30 bytes)
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # 46 bytes
_END = struct.Struct("<4s4H2LH")  # 22 bytes
_UTF8 = 0x800
_LIMIT = 0xFFFFFFFF


def write_deck(deck: DeckZip, replacements: dict[str, bytes], output: Path) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out, deck.path.open("rb") as source:
            central = [
                _write_entry(out, source, deck, info, replacements.get(info.filename)) for info in deck.infos
            ]
            start = out.tell()
            for record in central:
                out.write(record)
            size = out.tell() - start
            comment = deck.zip.comment[:0xFFFF]
            count = len(central)
            out.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, start, len(comment)) + comment)
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return output


def _write_entry(
    out: BinaryIO, source: BinaryIO, deck: DeckZip, info: zipfile.ZipInfo, replacement: bytes | None
) -> bytes:
    """Write one local entry; return its central directory record."""
    method = info.compress_type
    if replacement is None:
        payload, crc, size = _raw_entry(source, deck, info), info.CRC, info.file_size
    else:
        if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = zipfile.ZIP_DEFLATED
        payload, crc, size = _compress(replacement, method), zlib.crc32(replacement), len(replacement)
    name = info.filename.encode("utf-8")
    flags = _UTF8 if not name.isascii() else 0
    extra = _without_zip64(info.extra)
    offset = out.tell()
    if offset > _LIMIT or len(payload) > _LIMIT or size > _LIMIT:
        raise BadInputError(f"{deck.path.name} is too large to rewrite (over 4 GB).")
    dos_time, dos_date = _dos_datetime(info.date_time)
    version = 20
    out.write(
        _LOCAL.pack(
            b"PK\x03\x04",
            version,
            flags,
            method,
            dos_time,
            dos_date,
            crc,
            len(payload),
            size,
            len(name),
            len(extra),
        )
    )
    out.write(name + extra)
    out.write(payload)
    comment = info.comment[:0xFFFF]
    return (
        _CENTRAL.pack(
            b"PK\x01\x02",
            (info.create_system << 8) | version,
            version,
            flags,
            method,
            dos_time,
            dos_date,
            crc,
            len(payload),
            size,
            len(name),
            len(extra),
            len(comment),
            0,
            info.internal_attr,
            info.external_attr,
            offset,
        )
        + name
        + extra
        + comment
    )


def _raw_entry(source: BinaryIO, deck: DeckZip, info: zipfile.ZipInfo) -> bytes:
    """The entry's compressed bytes exactly as stored, found through its local header."""
    source.seek(info.header_offset)
    header = source.read(_LOCAL.size)
    if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise BadInputError(f"{deck.path.name} is damaged: the zip entry for '{info.filename}' is missing.")
    name_length, extra_length = struct.unpack("<2H", header[26:30])
    source.seek(info.header_offset + _LOCAL.size + name_length + extra_length)
    data = source.read(info.compress_size)
    if len(data) != info.compress_size:
        raise BadInputError(f"{deck.path.name} is damaged: the part '{info.filename}' is cut short.")
    return data


def _compress(data: bytes, method: int) -> bytes:
    if method == zipfile.ZIP_STORED:
        return data
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _dos_datetime(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    year = min(max(year, 1980), 2107)
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _without_zip64(extra: bytes) -> bytes:
    """The extra field minus any ZIP64 record (sizes here never need one)."""
    kept = b""
    offset = 0
    while offset + 4 <= len(extra):
        header_id, length = struct.unpack("<HH", extra[offset : offset + 4])
        if header_id != 0x0001:
            kept += extra[offset : offset + 4 + length]
        offset += 4 + length
    return kept
