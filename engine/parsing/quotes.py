"""Quoted text in any quote style: '...', "...", “...”, ‘...’, 「...」, 『...』.

Quoted spans are the exact text an edit should find or write ("把'限时优惠'换成'SALE'"), so the
parser reads them verbatim and hides them from every keyword rule: "add a 'Black and White'
label" must not split on "and" nor select the monochrome theme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# An ASCII apostrophe opens a quote only when no letter or digit comes before it and closes
# one only when none follows, so "Valentine's" and "don't" are not quotes.
_QUOTE = re.compile(
    r"“(?P<curly>[^”]+)”"
    r"|‘(?P<curly_single>[^’]+)’"
    r"|「(?P<corner>[^」]+)」"
    r"|『(?P<white_corner>[^』]+)』"
    r'|"(?P<double>[^"]+)"'
    r"|(?<![A-Za-z0-9])'(?P<single>[^']+)'(?![A-Za-z0-9])"
)

#: What a quoted span is replaced with in the masked text the keyword rules read.
PLACEHOLDER = "〔Q〕"


@dataclass(frozen=True)
class Quote:
    start: int
    end: int
    text: str


def find_quotes(text: str) -> list[Quote]:
    """Every quoted span in ``text``, in order, with its content stripped of surrounding spaces."""
    quotes = []
    for match in _QUOTE.finditer(text):
        content = next(group for group in match.groups() if group is not None)
        if content.strip():
            quotes.append(Quote(match.start(), match.end(), content.strip()))
    return quotes


def mask_quotes(text: str) -> tuple[str, list[str]]:
    """``text`` with each quoted span replaced by ``PLACEHOLDER``, and the quoted texts."""
    quotes = find_quotes(text)
    pieces, last = [], 0
    for quote in quotes:
        pieces.append(text[last : quote.start])
        pieces.append(PLACEHOLDER)
        last = quote.end
    pieces.append(text[last:])
    return "".join(pieces), [quote.text for quote in quotes]


def strip_quotes(text: str) -> str:
    """``text`` without its quoted spans: what is left to judge the instruction's language by."""
    masked, _ = mask_quotes(text)
    return masked.replace(PLACEHOLDER, " ")
