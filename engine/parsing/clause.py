"""One clause of an instruction, prepared once for every rule that reads it."""

from __future__ import annotations

from dataclasses import dataclass

from engine.parsing.places import take_place
from engine.parsing.quotes import mask_quotes
from engine.plan import Place


@dataclass(frozen=True)
class Clause:
    """``source`` as written; ``masked`` with quotes replaced by a placeholder; ``rest`` is
    ``masked`` without its place phrase, which is ``place``; ``quotes`` are the quoted texts."""

    source: str
    masked: str
    quotes: list[str]
    place: Place | None
    rest: str

    @classmethod
    def from_text(cls, text: str) -> Clause:
        masked, quotes = mask_quotes(text)
        place, rest = take_place(masked)
        return cls(source=text, masked=masked, quotes=quotes, place=place, rest=rest)


class IncompleteEdit(Exception):
    """A recognised edit that lacks a detail ("crop it": to what?); becomes a clarification."""

    def __init__(self, message_en: str, message_zh: str, examples_en: list[str], examples_zh: list[str]):
        super().__init__(message_en)
        self.message_en = message_en
        self.message_zh = message_zh
        self.examples_en = examples_en
        self.examples_zh = examples_zh
