"""What a batch works through: the pictures of a folder, a .zip or a CSV manifest, as items.

Each item has a name (its path relative to the input, as the user knows it), the relative path
its result is written to (the same, unless a manifest's ``output`` column says otherwise) and its
instruction. A row or entry that cannot be an item (a missing file, a path leaving the folder, a
placeholder with no column) is kept as an item with its ``error``, so it is reported by name
while the others go on.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Literal

from batch.archive import open_checked, read_member, safe_member_name
from batch.manifest import in_language, read_manifest
from imgedit.errors import BadInputError, InChinese

#: The pictures a folder or zip contributes; other files (notes, .DS_Store) are left out.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".bmp"})
InputKind = Literal["folder", "zip", "manifest"]
#: A .zip holding this at its root is a manifest with its pictures (paths relative to the root).
MANIFEST_IN_ZIP = "manifest.csv"


@dataclass(frozen=True)
class BatchItem:
    name: str
    output: str
    instruction: str  # empty when the batch's --theme applies
    row: int | None = None
    error: str | None = None


@dataclass
class Inputs:
    """The items of one INPUT, and how to read their bytes (a zip stays open while in use)."""

    kind: InputKind
    path: Path
    items: list[BatchItem]
    archive: zipfile.ZipFile | None = field(default=None, repr=False)

    def read(self, item: BatchItem) -> bytes:
        if self.archive is not None:
            name = safe_member_name(item.name) or item.name
            if name not in self.archive.NameToInfo:
                raise BadInputError(f"No such picture in {self.path.name}: {item.name}")
            return read_member(self.archive, self.path.name, name)
        base = self.path.parent if self.kind == "manifest" else self.path
        source = base / item.name
        if not source.is_file():
            raise BadInputError(f"No such image file: {item.name}")
        return source.read_bytes()


def _is_picture(path: PurePosixPath) -> bool:
    hidden = any(part.startswith(".") or part == "__MACOSX" for part in path.parts)
    return not hidden and path.suffix.lower() in IMAGE_SUFFIXES


def _folder_items(folder: Path, instruction: str, skip: list[Path]) -> list[BatchItem]:
    items = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(path.resolve().is_relative_to(other) for other in skip):
            continue
        relative = PurePosixPath(path.relative_to(folder).as_posix())
        if _is_picture(relative):
            items.append(BatchItem(relative.as_posix(), relative.as_posix(), instruction))
    return items


def _zip_items(archive: zipfile.ZipFile, label: str, instruction: str) -> list[BatchItem]:
    items = []
    for info in archive.infolist():
        if info.is_dir() or PurePosixPath(info.filename).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        safe = safe_member_name(info.filename)
        if safe is None:
            reason = f"the entry '{info.filename}' in {label} would be written outside the output"
            items.append(BatchItem(info.filename, info.filename, instruction, error=reason))
        elif _is_picture(PurePosixPath(safe)):
            items.append(BatchItem(info.filename, safe, instruction))
    return sorted(items, key=lambda item: item.name)


def _manifest_items(data: bytes, label: str, prompt: str | None, theme: str | None) -> list[BatchItem]:
    items = []
    for row in read_manifest(data, label, prompt, theme_given=theme is not None):
        output = row.output or row.file
        error = row.error
        if error is None and (safe_member_name(row.file) is None or safe_member_name(output) is None):
            error = in_language(
                row.instruction,
                f"row {row.number}: paths must stay inside the manifest's folder ('{row.file}', '{output}')",
                f"第 {row.number} 行：路径必须在清单所在的文件夹之内（'{row.file}'，'{output}'）",
            )
        items.append(BatchItem(row.file, output, row.instruction, row=row.number, error=error))
    return items


def _refuse_shared_outputs(items: list[BatchItem]) -> list[BatchItem]:
    """The second item writing a path already written by another is refused, naming both."""
    first: dict[str, BatchItem] = {}
    kept = []
    for item in items:
        key = item.output.casefold()
        earlier = first.get(key)
        if item.error is None and earlier is not None:
            by_en = f"row {earlier.row}" if earlier.row else earlier.name
            by_zh = f"第 {earlier.row} 行" if earlier.row else earlier.name
            reason = in_language(
                item.instruction,
                f"{item.output} is already written by {by_en}; add an 'output' column to keep both",
                f"{item.output} 已由{by_zh}写出；要两者都保留，请加一列 output",
            )
            kept.append(replace(item, error=reason))
            continue
        if item.error is None:
            first.setdefault(key, item)
        kept.append(item)
    return kept


@contextmanager
def open_inputs(
    source: Path, *, prompt: str | None, theme: str | None, skip: list[Path] | None = None
) -> Iterator[Inputs]:
    """The items of ``source`` (a folder, a .zip or a .csv); ``skip`` lists folders a folder scan
    leaves out (the output, when it lies inside the input)."""
    source = Path(source)
    instruction = prompt or ""
    if source.is_dir():
        inputs = Inputs(
            "folder", source, _folder_items(source, instruction, [p.resolve() for p in skip or []])
        )
    elif not source.exists():
        raise BadInputError(
            f"No such folder or file: {source}",
            hint="Check the path and its spelling.",
            zh=InChinese(f"找不到文件夹或文件：{source}", "请检查路径是否写对。"),
        )
    elif source.suffix.lower() == ".zip":
        archive = open_checked(source)
        if MANIFEST_IN_ZIP in archive.namelist():
            manifest = read_member(archive, source.name, MANIFEST_IN_ZIP)
            label = f"{MANIFEST_IN_ZIP} in {source.name}"
            inputs = Inputs("manifest", source, _manifest_items(manifest, label, prompt, theme), archive)
        else:
            inputs = Inputs("zip", source, _zip_items(archive, source.name, instruction), archive)
    elif source.suffix.lower() == ".csv":
        inputs = Inputs("manifest", source, _manifest_items(source.read_bytes(), source.name, prompt, theme))
    else:
        raise BadInputError(
            f"{source} is neither a folder, a .zip nor a .csv manifest.",
            hint="Give a folder of pictures, a .zip of them, or a CSV with file,instruction columns.",
            zh=InChinese(
                f"{source} 既不是文件夹，也不是 .zip 或 .csv 清单。",
                "请提供图片文件夹、图片的 .zip，或带 file,instruction 两列的 CSV。",
            ),
        )
    inputs.items = _refuse_shared_outputs(inputs.items)
    if not inputs.items:
        raise BadInputError(
            f"{source} holds no pictures (PNG, JPEG, WebP, GIF, TIFF or BMP).", hint="Check the path."
        )
    try:
        yield inputs
    finally:
        if inputs.archive is not None:
            inputs.archive.close()
