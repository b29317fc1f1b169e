"""An approved glossary: ``source,target`` phrase pairs from a CSV, as brands keep them.

Phrases are matched as OCR reads them, so keys are folded the way the text finder folds them
(full-width forms, case and spaces ignored): "限时 优惠" in the picture finds "限时优惠" here.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from engine.classic.textmatch import normalise
from imgedit.errors import BadInputError

_HEADER = ("source", "target")


@dataclass(frozen=True)
class Glossary:
    """Phrase pairs; ``digest`` identifies the content, so a changed glossary is a different edit."""

    pairs: tuple[tuple[str, str], ...] = ()
    _by_key: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for source, target in self.pairs:
            self._by_key.setdefault(normalise(source), target)

    def lookup(self, phrase: str) -> str | None:
        """The approved translation of ``phrase`` as a whole, or ``None``."""
        return self._by_key.get(normalise(phrase))

    def parts_in(self, phrase: str) -> list[tuple[str, str]]:
        """Glossary sources found inside ``phrase`` (longest first, not overlapping), with targets."""
        folded = normalise(phrase)
        found: list[tuple[str, str]] = []
        for source, target in sorted(self.pairs, key=lambda pair: -len(normalise(pair[0]))):
            key = normalise(source)
            if key and key in folded:
                found.append((source, target))
                folded = folded.replace(key, "\0")
        return found

    def residue(self, phrase: str) -> str:
        """What is left of ``phrase`` once every glossary source inside it is taken out."""
        folded = normalise(phrase)
        for source, _ in self.parts_in(phrase):
            folded = folded.replace(normalise(source), " ")
        return " ".join(folded.split())

    @property
    def digest(self) -> str:
        return hashlib.sha256(repr(self.pairs).encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.pairs)


def load_glossary(path: Path) -> Glossary:
    """Read ``source,target`` rows (a header row with those names is optional); refuse a file that
    is not such a CSV, naming the row."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"No such glossary file: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"The glossary {path.name} is not UTF-8 text; save it as UTF-8 CSV.") from exc
    pairs: list[tuple[str, str]] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and tuple(cell.lower() for cell in cells[:2]) == _HEADER:
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise BadInputError(
                f"The glossary {path.name}, row {number}, should hold a source phrase and its "
                f"translation (source,target), not {row!r}."
            )
        pairs.append((cells[0], cells[1]))
    if not pairs:
        raise BadInputError(f"The glossary {path.name} has no source,target rows.")
    return Glossary(tuple(pairs))
