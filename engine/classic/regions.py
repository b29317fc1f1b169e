"""Named places and fractional boxes as pixel rectangles.

Every operation may carry a ``Place`` ("左下角", "bottom left") and/or a ``Box`` in fractions;
this module is the one place that turns them into pixels, so "the top left" covers the same
area for recolouring, removal, text search and badges.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.plan import Box, Place


class Rect(NamedTuple):
    """A pixel rectangle, ``x1``/``y1`` exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def contains_point(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1

    def holds_centre_of(self, other: Rect) -> bool:
        """Whether ``other``'s centre lies inside: how a text line or a match counts as "in" a
        named place even when its box spills over the place's edge."""
        return self.contains_point((other.x0 + other.x1) / 2, (other.y0 + other.y1) / 2)

    def padded(self, pad: int, width: int, height: int) -> Rect:
        """This rectangle grown by ``pad`` pixels on each side, clipped to the image."""
        return Rect(
            max(0, self.x0 - pad),
            max(0, self.y0 - pad),
            min(width, self.x1 + pad),
            min(height, self.y1 + pad),
        )

    def intersect(self, other: Rect) -> Rect:
        return Rect(
            max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1)
        )


# Places as fractions (x0, y0, x1, y1): corners and edges are the outer thirds, the centre the
# middle half, which matches what people point at when they say "top left" or "in the middle".
_PLACE_FRACTIONS: dict[Place, tuple[float, float, float, float]] = {
    Place.TOP_LEFT: (0.0, 0.0, 1 / 3, 1 / 3),
    Place.TOP: (0.0, 0.0, 1.0, 1 / 3),
    Place.TOP_RIGHT: (2 / 3, 0.0, 1.0, 1 / 3),
    Place.LEFT: (0.0, 0.0, 1 / 3, 1.0),
    Place.CENTER: (0.25, 0.25, 0.75, 0.75),
    Place.RIGHT: (2 / 3, 0.0, 1.0, 1.0),
    Place.BOTTOM_LEFT: (0.0, 2 / 3, 1 / 3, 1.0),
    Place.BOTTOM: (0.0, 2 / 3, 1.0, 1.0),
    Place.BOTTOM_RIGHT: (2 / 3, 2 / 3, 1.0, 1.0),
    # Background and foreground are not rectangles; callers that can separate them do so
    # themselves (background.py). As a rectangle they mean the whole frame.
    Place.BACKGROUND: (0.0, 0.0, 1.0, 1.0),
    Place.FOREGROUND: (0.0, 0.0, 1.0, 1.0),
}

CORNERS: tuple[Place, ...] = (Place.TOP_LEFT, Place.TOP_RIGHT, Place.BOTTOM_LEFT, Place.BOTTOM_RIGHT)


def _from_fractions(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Rect:
    left, right = sorted((x0, x1))
    top, bottom = sorted((y0, y1))
    rect = Rect(round(left * width), round(top * height), round(right * width), round(bottom * height))
    # Never empty: a degenerate box still names at least one pixel.
    return Rect(
        min(rect.x0, width - 1),
        min(rect.y0, height - 1),
        max(rect.x1, rect.x0 + 1),
        max(rect.y1, rect.y0 + 1),
    )


def place_rect(place: Place, width: int, height: int) -> Rect:
    """The pixel rectangle a named place covers in a ``width`` x ``height`` image."""
    return _from_fractions(*_PLACE_FRACTIONS[Place(place)], width, height)


def box_rect(box: Box, width: int, height: int) -> Rect:
    return _from_fractions(box.x0, box.y0, box.x1, box.y1, width, height)


def op_rect(box: Box | None, place: Place | None, width: int, height: int) -> Rect | None:
    """Where an operation applies: its box if it has one (most precise), else its place, else None.

    Background/foreground places return None: they are not rectangles.
    """
    if box is not None:
        return box_rect(box, width, height)
    if place is not None and place not in (Place.BACKGROUND, Place.FOREGROUND):
        return place_rect(place, width, height)
    return None
