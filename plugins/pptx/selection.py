"""Deciding, image by image, what is restyled and what is kept, with the reason for each.

The rules are the user's expectations of a deck: vector art (EMF/WMF/SVG) and formats with
animation or palettes (GIF, BMP, TIFF) are kept, icons and bullets too small to restyle are
kept, and with ``--slides`` an image part shared with slides outside the range is kept because
changing the part would restyle those slides too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugins.pptx.codec import EDITABLE_FORMATS
from plugins.pptx.inventory import VECTOR_FORMATS, ImagePart


@dataclass
class Decision:
    image: ImagePart
    edit: bool
    reason: str = ""
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


def select_images(images: list[ImagePart], *, min_size: int, slides: frozenset[int] | None) -> Selection:
    decisions = [Decision(image, *_decide(image, min_size, slides)) for image in images]
    selection = Selection(decisions)
    for decision in selection.to_edit:
        group = selection.groups.setdefault(decision.image.sha256, [])
        if group:
            decision.duplicate_of = group[0].image.name
        group.append(decision)
    return selection


def _decide(image: ImagePart, min_size: int, slides: frozenset[int] | None) -> tuple[bool, str]:
    if image.missing:
        return False, "the part is missing from the package"
    if image.only_thumbnail:
        return False, "the file's preview thumbnail, not shown on any slide"
    if image.format in VECTOR_FORMATS:
        return False, f"vector image ({image.format}): kept as drawn"
    if image.error:
        return False, image.error
    if image.format not in EDITABLE_FORMATS:
        return False, f"{image.format} image: kept as it is (only PNG and JPEG are restyled)"
    if min(image.width, image.height) < min_size:
        return False, f"tiny image ({image.width}x{image.height}, under {min_size} px a side)"
    if slides is not None:
        shown = set(image.slides)
        if not shown & slides:
            return False, "not shown on the chosen slides"
        outside = sorted(shown - slides)
        if outside:
            return False, (
                f"shared with slides outside the chosen range ({_compact(outside)}); editing the part "
                "would restyle those too"
            )
    return True, ""


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
