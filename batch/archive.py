"""Reading pictures out of a user's .zip safely: bombs, encryption and path tricks refused up front.

The zip directory is untrusted. Declared sizes are checked against limits and against the
archive's own size before anything is decompressed, entries are read with a cap, and a name that
would leave the output folder ("../x.png", "/etc/x.png") is refused for that entry alone.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from imgedit.errors import BadInputError, ImageTooLargeError, InChinese


@dataclass(frozen=True)
class ZipLimits:
    """A bomb declares gigabytes inside kilobytes; pictures compress little (ratio ~1)."""

    max_entries: int = 100_000
    max_entry_bytes: int = 512 * 1024 * 1024
    max_total_bytes: int = 8 * 1024 * 1024 * 1024
    max_ratio: float = 100.0


DEFAULT_LIMITS = ZipLimits()


def safe_member_name(name: str) -> str | None:
    """The entry's path if it stays inside the archive's folder (no absolute path, no ``..``)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        return None
    return path.as_posix()


def open_checked(path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """The archive, open, after its directory passed the checks above; the caller closes it."""
    if not zipfile.is_zipfile(path):
        raise BadInputError(
            f"{path.name} is not a zip archive.",
            hint="Give a folder, a .zip or a .csv.",
            zh=InChinese(f"{path.name} 不是 zip 压缩包。", "请提供文件夹、.zip 或 .csv。"),
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise BadInputError(
            f"{path.name} is a damaged zip archive ({exc}).",
            hint="Make the archive again.",
            zh=InChinese(f"{path.name} 是损坏的 zip 压缩包。", "请重新打包。"),
        ) from exc
    try:
        _check(path, archive.infolist(), limits)
    except BaseException:
        archive.close()
        raise
    return archive


def _check(path: Path, infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(infos) > limits.max_entries:
        raise BadInputError(f"{path.name} has {len(infos):,} entries; the limit is {limits.max_entries:,}.")
    total = sum(info.file_size for info in infos)
    file_bytes = path.stat().st_size
    for info in infos:
        if info.flag_bits & 0x1:
            raise BadInputError(f"{path.name}: '{info.filename}' is encrypted; zip it without a password.")
        if info.file_size > limits.max_entry_bytes:
            raise ImageTooLargeError(
                f"{path.name}: '{info.filename}' declares {info.file_size:,} bytes; "
                f"the limit is {limits.max_entry_bytes:,}."
            )
    if total > limits.max_total_bytes or total > max(file_bytes, 1 << 20) * limits.max_ratio:
        raise ImageTooLargeError(
            f"{path.name} looks like a zip bomb: it declares {total:,} bytes of content in a "
            f"{file_bytes:,}-byte file; refusing to unpack it."
        )


def read_member(archive: zipfile.ZipFile, label: str, name: str, limits: ZipLimits = DEFAULT_LIMITS) -> bytes:
    """One entry's bytes from an archive ``open_checked`` opened, read with a cap; a damaged entry
    is the user's error, named."""
    try:
        info = archive.getinfo(name)
        with archive.open(info) as handle:
            data = handle.read(limits.max_entry_bytes + 1)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise BadInputError(f"'{name}' in {label} cannot be read ({exc}).") from exc
    if len(data) > info.file_size:
        raise BadInputError(f"'{name}' in {label} is longer than its zip entry declares.")
    return data
