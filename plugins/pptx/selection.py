"""Deciding, image by image, what is restyled and what is kept, with the reason for each.

The rules are the user's expectations of a deck: vector art (EMF, WMF, SVG, PDF) is kept as
drawn, icons and bullets too small to restyle are kept, with ``--pictures photos`` logos, charts,
diagrams and screenshots keep their colours, and with ``--slides`` an image part shared with
slides outside the range is kept because changing the part would restyle those slides too.
Every raster format Pillow writes back in its own format (PNG, JPEG, GIF, TIFF, BMP, WebP) is
restyled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from plugins.pptx.codec import DECK_FORMATS
from plugins.pptx.inventory import VECTOR_FORMATS, ImagePart
from plugins.pptx.kinds import PictureKind
from plugins.pptx.options import Pictures

#: Why a picture was kept, for the report's counts ("3 logos and charts kept, 1 vector kept").
KeptBecause = Literal["", "graphic", "vector", "small", "format", "slides", "thumbnail", "unreadable"]


@dataclass
class Decision:
    image: ImagePart
    edit: bool
    reason: str = ""
    kept_because: KeptBecause = ""
    duplicate_of: str | None = None  # same bytes as an image that is edited: reuse its result


@dataclass
class Selection:
    decisions: list[Decision]
    groups: dict[str, list[Decision]] = field(default_factory=dict)  # sha256 -> images with those bytes

    @property
    def to_edit(self) -> list[Decision]:
        return [d for d in self.decisions if d.edit]

    @property
    def distinct(self) -> list[Decision]:
        """One decision per distinct content: the images actually sent to the engine."""
        return [d for d in self.decisions if d.edit and d.duplicate_of is None]

    @property
    def skipped(self) -> list[Decision]:
        return [d for d in self.decisions if not d.edit]


def select_images(
    images: list[ImagePart],
    *,
    min_size: int,
    slides: frozenset[int] | None,
    pictures: Pictures = "all",
    kinds: dict[str, PictureKind] | None = None,
) -> Selection:
    """Decide for each image; ``kinds`` (photo or graphic, by part name) matters with ``photos``."""
    kinds = kinds or {}
    decisions = []
    for image in images:
        because, reason = _decide(image, min_size, slides)
        if not because and pictures == "photos" and kinds.get(image.name) == "graphic":
            because, reason = (
                "graphic",
                (
                    "a logo, chart, diagram or screenshot (few colours, flat areas, hard edges): "
                    "it keeps its colours (--pictures all restyles it too)"
                ),
            )
        decisions.append(Decision(image, not because, reason, because))
    selection = Selection(decisions)
    for decision in selection.to_edit:
        group = selection.groups.setdefault(decision.image.sha256, [])
        if group:
            decision.duplicate_of = group[0].image.name
        group.append(decision)
    return selection


def _decide(image: ImagePart, min_size: int, slides: frozenset[int] | None) -> tuple[KeptBecause, str]:
    if image.missing:
        return "unreadable", "the part is missing from the package"
    if image.only_thumbnail:
        return "thumbnail", "the file's preview thumbnail, not shown on any slide"
    if image.format in VECTOR_FORMATS:
        return "vector", f"vector picture ({image.format}): kept as drawn (restyling would turn it to pixels)"
    if image.error:
        return "unreadable", image.error
    if image.format not in DECK_FORMATS:
        return "format", f"{image.format} picture: kept as it is (Pillow cannot write {image.format} back)"
    if min(image.width, image.height) < min_size:
        return "small", f"tiny image ({image.width}x{image.height}, under {min_size} px a side)"
    if slides is not None:
        shown = set(image.slides)
        if not shown & slides:
            return "slides", "not shown on the chosen slides"
        outside = sorted(shown - slides)
        if outside:
            return "slides", (
                f"shared with slides outside the chosen range ({_compact(outside)}); editing the part "
                "would restyle those too"
            )
    return "", ""


def _compact(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    spans: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        spans.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(spans)
