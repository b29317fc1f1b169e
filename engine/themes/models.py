"""The theme data model: a style template for both engines.

A theme carries a prompt for the generative ``qwen`` engine and a colour-grade recipe for the
``classic`` engine, so that "情人节风格" means the same look whichever engine runs it.
"""

from __future__ import annotations

import itertools
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def _check_hex(value: str | None) -> str | None:
    if value is not None and not _HEX_COLOR.match(value):
        raise ValueError(f"'{value}' is not a colour of the form '#rrggbb'")
    return value


class ThemeRecipe(BaseModel):
    """The classic engine's colour grade; every step is optional and they apply in field order."""

    model_config = ConfigDict(extra="forbid")

    grayscale: bool = False
    brightness: float = Field(default=1.0, ge=0.0, le=3.0, description="Multiplicative, 1.0 = unchanged.")
    contrast: float = Field(default=1.0, ge=0.0, le=3.0)
    saturation: float = Field(default=1.0, ge=0.0, le=3.0)
    curve: list[tuple[int, int]] = Field(
        default_factory=list, description="Tone curve control points (in, out), 0..255, interpolated."
    )
    tint: str | None = Field(default=None, description="'#rrggbb' blended over the image.")
    tint_strength: float = Field(default=0.0, ge=0.0, le=1.0)
    shadows: str | None = Field(default=None, description="Split-toning colour for the shadows.")
    highlights: str | None = Field(default=None, description="Split-toning colour for the highlights.")
    split_strength: float = Field(default=0.0, ge=0.0, le=1.0)
    vignette: float = Field(default=0.0, ge=0.0, le=1.0, description="Darkening at the corners.")
    grain: float = Field(default=0.0, ge=0.0, le=1.0, description="Film grain, seeded: deterministic.")

    @field_validator("tint", "shadows", "highlights")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        return _check_hex(value)

    @field_validator("curve")
    @classmethod
    def _monotone(cls, points: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """A tone curve must be a function of the input level and must not invert tones."""
        for x, y in points:
            if not (0 <= x <= 255 and 0 <= y <= 255):
                raise ValueError(f"curve point ({x}, {y}) is outside 0..255")
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if x1 <= x0 or y1 < y0:
                raise ValueError("curve points must rise: increasing 'in' and non-decreasing 'out'")
        return points


class ThemeSpec(BaseModel):
    """One style template: its names in both languages, the qwen prompt and the classic recipe."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_SLUG, description="The slug: 'valentine'.")
    name_en: str = Field(min_length=1)
    name_zh: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list, description="Other words that select it.")
    description: str = ""
    prompt: str = Field(min_length=1, description="The instruction the qwen engine receives.")
    negative_prompt: str = " "
    recipe: ThemeRecipe = Field(default_factory=ThemeRecipe)

    @property
    def keys(self) -> list[str]:
        """Every word that names this theme: slug (also with spaces), both names and the aliases."""
        words = [self.name, self.name.replace("-", " "), self.name_en, self.name_zh, *self.aliases]
        return list(dict.fromkeys(word.strip() for word in words if word.strip()))
