"""The batch's journal: one JSON line per finished edit, so a rerun of the same command resumes.

A line is appended (and synced) only after the item's result file is in place (written under a
temporary name, then renamed), so a crash at any point leaves lines that all point at complete
files; a line cut short by the crash is ignored. Lines are keyed by the edit's identity (the
picture's content hash, the instruction, the engine, the glossary, the seed): a changed picture or
instruction is a new edit, and a rerun with other arguments reuses nothing it should not.
Failures of the input are journaled too (they would fail the same way again); failures of ours
are not, so a rerun retries them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from batch.work import EditOutcome

JOURNAL_NAME = "journal.jsonl"


@dataclass
class JournalEntry(EditOutcome):
    """An item's outcome and the relative path its result was written to ("" when failed)."""

    output: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


class Journal:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / JOURNAL_NAME
        self._handle: Any = None

    def load(self) -> dict[str, JournalEntry]:
        """The entries of earlier runs by key; a damaged line (the crash's last) is skipped."""
        entries: dict[str, JournalEntry] = {}
        if not self.path.is_file():
            return entries
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = JournalEntry.from_json(json.loads(line))
            except (ValueError, TypeError):
                continue
            entries[entry.key] = entry
        return entries

    def append(self, entry: JournalEntry) -> None:
        if self._handle is None:
            self._handle = self.path.open("a", encoding="utf-8")
        self._handle.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
