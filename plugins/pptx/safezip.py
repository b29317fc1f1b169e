"""Opening a deck's zip safely: refuse what is not a deck, damaged archives and zip bombs *before*
reading any entry.

A .pptx comes from users, so its zip directory is untrusted: declared sizes are checked against
limits and against the size of the file itself (a bomb declares gigabytes inside kilobytes), entries
are read with a cap, and duplicate or encrypted entries are refused because two readers could
disagree about what the deck contains.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from imgedit.errors import BadInputError, ImageTooLargeError, InChinese

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class ZipLimits:
    """What a deck may declare. The ratio limit only applies to entries big enough to matter:
    small XML parts legitimately compress 20-50x, a bomb compresses ~1000x."""

    max_entries: int = 20_000
    max_entry_bytes: int = 512 * 1024 * 1024
    max_total_bytes: int = 2 * 1024 * 1024 * 1024
    max_ratio: float = 200.0
    ratio_applies_above: int = 4 * 1024 * 1024


DEFAULT_LIMITS = ZipLimits()


class DeckZip:
    """A checked, read-only view of a deck's zip archive; use as a context manager."""

    def __init__(self, path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> None:
        self.path = Path(path)
        self.limits = limits
        self.zip = _open_zip(self.path)
        try:
            self.infos = self.zip.infolist()
            _check_directory(self.path, self.infos, limits)
        except BaseException:
            self.zip.close()
            raise
        self.names = [info.filename for info in self.infos]
        self._by_name = {info.filename: info for info in self.infos}

    def __enter__(self) -> DeckZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.zip.close()

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def info(self, name: str) -> zipfile.ZipInfo:
        return self._by_name[name]

    def read(self, name: str) -> bytes:
        """The entry's bytes; a damaged entry (bad CRC, broken deflate stream) is a clear error."""
        info = self._by_name[name]
        try:
            with self.zip.open(info) as handle:
                data = handle.read(self.limits.max_entry_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise BadInputError(
                f"{self.path.name} is damaged: its part '{name}' cannot be read ({exc}).",
                hint="Open it in PowerPoint (which offers to repair it), save it, and try again.",
            ) from exc
        if len(data) > info.file_size:
            raise BadInputError(f"{self.path.name}: the part '{name}' is longer than its zip entry declares.")
        return data


def not_a_deck(name: str) -> BadInputError:
    """A file that is not even a zip archive, let alone a deck."""
    return BadInputError(
        f"{name} is not a .pptx deck (it is not a zip archive).",
        hint="Use a PowerPoint .pptx file.",
        zh=InChinese(f"{name} 不是 .pptx 演示文稿（不是 zip 压缩包）。", "请使用 PowerPoint 的 .pptx 文件。"),
    )


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise BadInputError(
            f"No such deck file: {path}",
            hint="Check the path and its spelling.",
            zh=InChinese(f"找不到演示文稿文件：{path}", "请检查路径是否写对。"),
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE_MAGIC):
        raise BadInputError(
            f"{path.name} is a legacy .ppt or a password-protected deck, not an Office Open XML .pptx.",
            hint="Open it in PowerPoint and save it as .pptx without a password.",
            zh=InChinese(
                f"{path.name} 是旧版 .ppt 或有密码保护的演示文稿，不是 .pptx。",
                "请用 PowerPoint 打开，另存为不带密码的 .pptx。",
            ),
        )
    if not zipfile.is_zipfile(path):
        raise not_a_deck(path.name)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise BadInputError(
            f"{path.name} is a damaged zip archive ({exc}).",
            hint="Open it in PowerPoint (which offers to repair it), save it, and try again.",
            zh=InChinese(
                f"{path.name} 是损坏的 zip 压缩包。", "请用 PowerPoint 打开（它会提示修复），保存后再试。"
            ),
        ) from exc


def _check_directory(path: Path, infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Refuse bombs, duplicates and encryption from the zip directory alone (nothing decompressed)."""
    if len(infos) > limits.max_entries:
        raise BadInputError(f"{path.name} has {len(infos):,} zip entries; a deck has far fewer.")
    file_bytes = path.stat().st_size
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if name in seen:
            raise BadInputError(f"{path.name} holds the part '{name}' twice; refusing an ambiguous deck.")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise BadInputError(
                f"{path.name}: the part '{name}' is encrypted; save the deck without a password."
            )
        total += info.file_size
        declared_ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > limits.max_entry_bytes or (
            info.file_size > limits.ratio_applies_above and declared_ratio > limits.max_ratio
        ):
            raise ImageTooLargeError(
                f"{path.name} looks like a zip bomb: the part '{name}' declares {info.file_size:,} bytes "
                f"from {info.compress_size:,} compressed (ratio {declared_ratio:,.0f}); "
                "refusing to unpack it.",
            )
    if total > limits.max_total_bytes or (
        total > limits.ratio_applies_above and total > file_bytes * limits.max_ratio
    ):
        raise ImageTooLargeError(
            f"{path.name} looks like a zip bomb: it declares {total:,} bytes of content in a "
            f"{file_bytes:,}-byte file; refusing to unpack it.",
        )
