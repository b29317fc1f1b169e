"""What a deck restyle is asked to do, and turning it into the one edit plan used for every image."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Literal

from engine import Editor, EditPlan
from engine.restyle import restyle_plan
from imgedit.errors import BadInputError

DEFAULT_MIN_SIZE = 64
Pictures = Literal["photos", "all"]
PICTURES: tuple[Pictures, ...] = ("photos", "all")
_RANGE_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class RestyleOptions:
    """``theme`` or ``prompt`` (exactly one); ``slides`` like "1-5,8"; ``seed`` is shared by every
    image so one deck gets one look.

    ``pictures``: ``photos`` restyles photographs only (logos, charts, diagrams and screenshots
    keep their colours), ``all`` every picture; unset, a theme means ``photos`` (a theme is a look
    for photographs) and a prompt ``all`` (the user asked for that edit everywhere).
    ``theme_colors`` also grades the deck's own colour scheme (``ppt/theme/theme*.xml``) with the
    theme's colours; it needs a theme.
    """

    theme: str | None = None
    prompt: str | None = None
    engine: str | None = None
    seed: int = 0
    slides: str | None = None
    min_size: int = DEFAULT_MIN_SIZE
    workers: int | None = None
    pictures: Pictures | None = None
    theme_colors: bool = False

    def __post_init__(self) -> None:
        if (self.theme is None) == (self.prompt is None):
            raise BadInputError("Give exactly one of a theme (--theme NAME) or a prompt (--prompt TEXT).")
        if self.min_size < 1:
            raise BadInputError("--min-size must be at least 1 pixel.")
        if self.workers is not None and self.workers < 1:
            raise BadInputError("--workers must be at least 1.")
        if self.pictures is not None and self.pictures not in PICTURES:
            raise BadInputError(f"--pictures is 'photos' or 'all', not '{self.pictures}'.")
        if self.theme_colors and self.theme is None:
            raise BadInputError(
                "--theme-colors recolours the deck's colour scheme with a theme; give --theme NAME."
            )

    @property
    def which_pictures(self) -> Pictures:
        """``pictures``, or its default: photos for a theme, all for a prompt."""
        return self.pictures or ("photos" if self.theme is not None else "all")

    @property
    def language(self) -> Literal["zh", "en"]:
        """The language the user wrote the theme or prompt in, for the report's sentences."""
        from engine.parsing.language import reply_language

        return reply_language(self.prompt or self.theme or "")


def parse_pictures(value: str | None) -> Pictures | None:
    """``photos`` or ``all`` as typed on a command line or sent in a form; empty means the default."""
    if not value:
        return None
    if value not in PICTURES:
        raise BadInputError(f"--pictures is 'photos' or 'all', not '{value}'.")
    return "photos" if value == "photos" else "all"


def parse_slide_range(spec: str | None, slide_count: int) -> frozenset[int] | None:
    """``"1-5,8"`` -> {1, 2, 3, 4, 5, 8}; ``None`` means every slide."""
    if spec is None or not spec.strip():
        return None
    chosen: set[int] = set()
    for piece in spec.split(","):
        match = _RANGE_PART.match(piece)
        if not match:
            raise BadInputError(f"'{spec}' is not a slide range; write it like 1-5 or 1,3,7-9.")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise BadInputError(f"'{piece.strip()}' is not a slide range; slides count from 1, low to high.")
        if first > slide_count:
            raise BadInputError(f"--slides {spec}: the deck has {slide_count} slides.")
        chosen.update(range(first, min(last, slide_count) + 1))
    return frozenset(chosen)


def build_plan(editor: Editor, options: RestyleOptions) -> EditPlan:
    """The one plan for every image of the deck (``engine.restyle.restyle_plan``, shared with the
    Figma bridge): refused up front if the engine cannot run it or it would change a picture's size."""
    return restyle_plan(editor, theme=options.theme, instruction=options.prompt)


def plan_fingerprint(plan: EditPlan, options: RestyleOptions, engine_name: str) -> str:
    """Identifies 'the same restyle', so finished images can be reused when a job resumes."""
    payload = json.dumps(
        {"plan": plan.model_dump(mode="json"), "seed": options.seed, "engine": engine_name},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
