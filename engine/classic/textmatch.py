"""Finding the text a user quoted among the lines OCR read, exactly or approximately.

Users quote text as they see it ("限时优惠", "50% off") and OCR reads it with small errors,
full-width punctuation and different spacing, so both sides are normalised (NFKC folds
full-width forms, case and spaces are ignored) before comparing. A quote may be a whole line or
part of one; for a part, the sub-box is estimated from the characters' share of the line's
width (CJK characters count double, as they are about twice as wide as Latin letters).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from engine.classic.ocr import TextLine
from engine.classic.regions import Rect

#: Similarity (0..100) a whole line must reach to count as the quoted text.
LINE_THRESHOLD = 72.0
#: Similarity a part of a line must reach; higher, since short windows match by chance.
PART_THRESHOLD = 85.0


@dataclass(frozen=True)
class TextMatch:
    line: TextLine
    rect: Rect  # the matched part of the line, in pixels
    score: float  # 0..100
    whole_line: bool


def normalise(text: str) -> str:
    """Text folded for comparison: NFKC (full-width -> half-width), lower case, no whitespace."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace())


def char_width(ch: str) -> float:
    """A character's width relative to a CJK ideograph (1.0)."""
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.55


def is_cjk(text: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in ("W", "F") for ch in text)


def _sub_rect(line: TextLine, start: int, end: int) -> Rect:
    """The part of ``line``'s box holding its normalised characters ``start:end``."""
    chars = normalise(line.text)
    widths = [char_width(ch) for ch in chars]
    total = sum(widths) or 1.0
    before, inside = sum(widths[:start]), sum(widths[start:end])
    rect = line.rect
    x0 = rect.x0 + rect.width * before / total
    x1 = rect.x0 + rect.width * (before + inside) / total
    return Rect(int(x0), rect.y0, round(x1 + 0.5), rect.y1)


def find_text(lines: list[TextLine], query: str) -> list[TextMatch]:
    """Where ``query`` appears: every exact occurrence, or else the single best approximate one."""
    wanted = normalise(query)
    if not wanted:
        return []
    exact: list[TextMatch] = []
    for line in lines:
        text = normalise(line.text)
        if text == wanted:
            exact.append(TextMatch(line, line.rect, 100.0, True))
            continue
        start = text.find(wanted)
        while start >= 0:
            exact.append(TextMatch(line, _sub_rect(line, start, start + len(wanted)), 100.0, False))
            start = text.find(wanted, start + len(wanted))
    if exact:
        return exact

    best: TextMatch | None = None
    for line in lines:
        text = normalise(line.text)
        whole = fuzz.ratio(wanted, text)
        if whole >= LINE_THRESHOLD and (best is None or whole > best.score):
            best = TextMatch(line, line.rect, whole, True)
        if len(text) > len(wanted):
            part = fuzz.partial_ratio_alignment(wanted, text)
            if (
                part is not None
                and part.score >= PART_THRESHOLD
                and (best is None or part.score > best.score)
            ):
                covers_line = (part.dest_end - part.dest_start) >= len(text) - 1
                rect = line.rect if covers_line else _sub_rect(line, part.dest_start, part.dest_end)
                best = TextMatch(line, rect, part.score, covers_line)
    return [best] if best is not None else []


def find_prices(lines: list[TextLine]) -> list[TextMatch]:
    """Every price OCR read ("¥99", "$19.99", "99元"), as the part of its line that holds it."""
    from engine.parsing.text import PRICE  # one definition of what a price looks like

    found = []
    for line in lines:
        text = normalise(line.text)
        for match in PRICE.finditer(text):
            whole = match.start() == 0 and match.end() == len(text)
            rect = line.rect if whole else _sub_rect(line, match.start(), match.end())
            found.append(TextMatch(line, rect, 100.0, whole))
    return found
