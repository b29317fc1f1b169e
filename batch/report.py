"""What a batch did (or, in a dry run, would do) with each item, and the exit code that follows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: edited: written by this run; reused: same picture and instruction as another item, copied from
#: it; resumed: finished by an earlier run of the same command; unchanged: nothing to do (no text to
#: translate), written as it was; partial: written, but some text stayed untranslated; failed: not
#: written. A dry run says ``edit`` or ``refuse`` (and ``reuse``, ``resume``) instead.
Status = Literal[
    "edited", "reused", "resumed", "unchanged", "partial", "failed", "edit", "reuse", "resume", "refuse"
]
#: Statuses that count as done: every item in one of these means exit code 0.
DONE: frozenset[str] = frozenset({"edited", "reused", "resumed", "unchanged"})
#: Statuses whose item has a result file.
WRITTEN: frozenset[str] = DONE | {"partial"}


@dataclass
class Translated:
    source: str
    target: str
    by: str  # "glossary" or "model"


@dataclass
class ItemReport:
    """One item: ``name`` is its path relative to the input (a zip entry, a manifest's file)."""

    name: str
    output: str
    status: Status
    instruction: str = ""
    reason: str = ""
    #: For a failure: 2 when the input was at fault (the item is named with the reason), 1 when we were.
    exit_code: int = 0
    row: int | None = None
    engine: str = ""
    operations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    same_as: str | None = None
    warnings: list[str] = field(default_factory=list)
    translated: list[Translated] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)


@dataclass
class BatchReport:
    input: str
    output: str | None
    items: list[ItemReport] = field(default_factory=list)
    workers: int = 1
    engine_calls: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    def count(self, *statuses: str) -> int:
        return sum(1 for item in self.items if item.status in statuses)

    @property
    def exit_code(self) -> int:
        """0: every item done; 2: some inputs were bad (the rest written); 1: a failure of ours."""
        if any(item.exit_code == 1 for item in self.items):
            return 1
        if self.dry_run:
            return 2 if self.count("refuse") else 0
        return 0 if all(item.status in DONE for item in self.items) else 2

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = self.summary()
        data["exit_code"] = self.exit_code
        return data
