"""A CSV manifest: one row per picture, ``file,instruction`` and any other columns.

``file`` is relative to the CSV (for a ``manifest.csv`` at the root of a .zip, to the zip's root).
The instruction (the row's, or ``--prompt`` for rows without one) may name the row's other columns
as ``{column}`` placeholders, so one template serves a whole price list:
``把“{old_price}”换成“{new_price}”``. ``{{`` and ``}}`` are literal braces. An optional ``output``
column names the result's path (so one picture can give several variants). A row whose
placeholders cannot be filled is refused by itself; a file that is not such a CSV, as a whole.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from engine.parsing.language import reply_language
from imgedit.errors import BadInputError

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_OPEN, _CLOSE = "\x00open\x00", "\x00close\x00"


@dataclass(frozen=True)
class ManifestRow:
    number: int  # the CSV line, the header being 1
    file: str
    instruction: str  # placeholders filled; empty when neither the row nor --prompt gives one
    output: str | None = None
    error: str | None = None


def in_language(instruction: str, en: str, zh: str) -> str:
    """A row's refusal in its instruction's language (a Chinese instruction gets a Chinese reason)."""
    return zh if instruction and reply_language(instruction) == "zh" else en


def fill_placeholders(template: str, cells: dict[str, str]) -> str:
    """``template`` with each ``{column}`` replaced by the row's value; ``KeyError``/``ValueError``
    name the column that is missing or empty."""
    text = template.replace("{{", _OPEN).replace("}}", _CLOSE)

    def value(match: re.Match[str]) -> str:
        column = match.group(1).strip()
        if column not in cells:
            raise KeyError(column)
        if not cells[column].strip():
            raise ValueError(column)
        return cells[column].strip()

    return _PLACEHOLDER.sub(value, text).replace(_OPEN, "{").replace(_CLOSE, "}")


def read_manifest(
    data: bytes, label: str, default_instruction: str | None, *, theme_given: bool
) -> list[ManifestRow]:
    """Every data row of the manifest (``data``, the CSV's bytes; ``label`` names it in messages),
    each with its filled instruction or the reason it cannot run."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"The manifest {label} is not UTF-8 text; save it as UTF-8 CSV.") from exc
    reader = csv.DictReader(text.splitlines())
    columns = [name.strip() for name in reader.fieldnames or []]
    if "file" not in columns:
        raise BadInputError(
            f"The manifest {label} needs a header row with a 'file' column "
            f"(and 'instruction', or --prompt/--theme); it has: {', '.join(columns) or 'no header'}."
        )
    if "instruction" not in columns and default_instruction is None and not theme_given:
        raise BadInputError(
            f"The manifest {label} has no 'instruction' column; add one, or give --prompt or --theme."
        )
    rows: list[ManifestRow] = []
    for raw in reader:
        number = reader.line_num
        cells = {(key or "").strip(): (value or "").strip() for key, value in raw.items() if key is not None}
        if not any(cells.values()):
            continue
        file = cells.get("file", "")
        output = cells.get("output") or None
        template = cells.get("instruction") or default_instruction or ""
        if not file:
            reason = in_language(
                template, f"row {number} names no file", f"第 {number} 行没有写文件（file 列为空）"
            )
            rows.append(ManifestRow(number, file, template, output, reason))
            continue
        try:
            instruction = fill_placeholders(template, cells)
        except KeyError as exc:
            column, names = exc.args[0], ", ".join(columns)
            reason = in_language(
                template,
                f"row {number}: the instruction uses {{{column}}}, but the manifest has no column "
                f"'{column}' (columns: {names})",
                f"第 {number} 行：指令用到了 {{{column}}}，但清单里没有“{column}”这一列（现有列：{names}）",
            )
            rows.append(ManifestRow(number, file, template, output, reason))
            continue
        except ValueError as exc:
            column = exc.args[0]
            reason = in_language(
                template,
                f"row {number}: the instruction uses {{{column}}}, which is empty in this row",
                f"第 {number} 行：指令用到的“{column}”在这一行是空的",
            )
            rows.append(ManifestRow(number, file, template, output, reason))
            continue
        if not instruction and not theme_given:
            reason = f"row {number} has no instruction (and no --prompt or --theme was given)"
            rows.append(ManifestRow(number, file, instruction, output, reason))
            continue
        rows.append(ManifestRow(number, file, instruction, output))
    if not rows:
        raise BadInputError(f"The manifest {label} has no rows below its header.")
    return rows
