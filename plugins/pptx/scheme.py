"""The deck's own colour scheme, graded with a theme: "make this deck Valentine's themed" then
changes the text, shape and accent colours too, not only the pictures.

A deck's colours live in ``ppt/theme/theme*.xml`` under ``a:clrScheme`` (dk1, lt1, dk2, lt2,
accent1-6, hlink, folHlink). Each ``a:srgbClr val="RRGGBB"`` there goes through the theme's
colour grade (``engine.classic.grade.apply_recipe``, the same recipe the classic engine gives
photos) without its vignette and grain, which belong to a picture's area, not to a colour.
System colours (``a:sysClr``, usually black text on white) stay: they follow the viewer's system.

Only the six hex digits of each value change; every other byte of the part, and every other
part of the deck, stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.themes import ThemeRecipe

THEME_PART = re.compile(r"^ppt/theme/theme\d+\.xml$")
_SCHEME = re.compile(rb"<(?:\w+:)?clrScheme\b.*?</(?:\w+:)?clrScheme>", re.S)
_SLOT_COLOR = re.compile(
    rb"<(?:\w+:)?(dk1|lt1|dk2|lt2|accent[1-6]|hlink|folHlink)>\s*"
    rb'(<(?:\w+:)?srgbClr\b[^>]*?\bval=")([0-9A-Fa-f]{6})(")'
)


@dataclass(frozen=True)
class SchemeColor:
    """One colour of a scheme that changed: which part and slot, before and after (``#rrggbb``)."""

    part: str
    slot: str
    before: str
    after: str


def grade_colors(colors: list[str], recipe: ThemeRecipe) -> list[str]:
    """``RRGGBB`` strings graded by ``recipe`` (no vignette, no grain), as ``RRGGBB``."""
    from engine.classic.grade import apply_recipe

    if not colors:
        return []
    rgb = [[int(color[i : i + 2], 16) for i in (0, 2, 4)] for color in colors]
    swatch = Image.fromarray(np.array([rgb], np.uint8))
    graded = apply_recipe(swatch, recipe.model_copy(update={"vignette": 0.0, "grain": 0.0}))
    return ["{:02X}{:02X}{:02X}".format(*pixel) for pixel in np.asarray(graded)[0]]


def recolor_theme_part(data: bytes, part: str, recipe: ThemeRecipe) -> tuple[bytes, list[SchemeColor]]:
    """The theme part with its scheme's hex colours graded, and what changed (``data`` itself
    when there is no scheme or nothing changes)."""
    scheme = _SCHEME.search(data)
    if scheme is None:
        return data, []
    block = scheme.group(0)
    found = list(_SLOT_COLOR.finditer(block))
    graded = grade_colors([m.group(3).decode("ascii") for m in found], recipe)
    changes: list[SchemeColor] = []
    pieces: list[bytes] = []
    last = 0
    for match, new in zip(found, graded, strict=True):
        old = match.group(3).decode("ascii")
        changed = new != old.upper()
        pieces += [block[last : match.start(3)], new.encode("ascii") if changed else match.group(3)]
        last = match.end(3)
        if changed:
            changes.append(SchemeColor(part, match.group(1).decode("ascii"), f"#{old.upper()}", f"#{new}"))
    if not changes:
        return data, []
    new_block = b"".join([*pieces, block[last:]])
    return data[: scheme.start()] + new_block + data[scheme.end() :], changes
