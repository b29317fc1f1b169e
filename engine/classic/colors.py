"""Colour words as pixel masks: which pixels are "the red ones".

A named colour becomes a hue band (for chromatic colours) or a lightness band (black, white,
grey), measured in OpenCV's HLS space on float images (hue in degrees, L and S in 0..1).
Membership is soft at the band's edges so recolouring and removal blend instead of leaving
hard fringes.
"""

from __future__ import annotations

import colorsys
import re

import cv2
import numpy as np

from engine.classic.context import OpContext
from engine.classic.regions import Rect
from engine.parsing.colors import color_label, parse_color
from imgedit.errors import BadInputError, UnsupportedOperationError

#: Hue distance (degrees) fully inside a colour, and where membership fades to zero.
HUE_CORE = 12.0
HUE_EDGE = 22.0
#: Pixels less saturated than this are greys, whatever their hue.
MIN_SATURATION = 0.22
#: A colour whose own saturation is below this is achromatic (black, white, grey, silver).
ACHROMATIC = 0.15
#: Membership above which a pixel counts towards a thing of the colour (its soft edge included).
MEMBER_WEIGHT = 0.3
#: Membership from which a pixel is surely of the colour: a real thing of that colour has a solid
#: core of such pixels, while a tinted fur edge or sensor noise has only scattered near misses.
CORE_WEIGHT = 0.9
#: A thing's core must hold at least this share of the image's pixels (and 4 pixels).
MIN_BLOB_SHARE = 0.0002
#: Share of a thing that must lie inside a named place for it to be "the red thing in the top left".
MOSTLY_INSIDE = 0.5
#: Share of a named place that a larger expanse of the colour must cover to count there, clipped.
FILLS_PLACE = 0.25


def rgb_of(name: str | None, what: str = "colour") -> tuple[int, int, int]:
    """The RGB a colour word means, or a ``BadInputError`` that names the word."""
    rgb = parse_color(name or "")
    if rgb is None:
        raise BadInputError(
            f"Unknown {what} '{name}'.",
            hint="Use a colour name such as red, 蓝色, dark green, or a hex code such as #ff8800.",
        )
    return rgb


def hls_of(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """(hue in degrees, lightness 0..1, saturation 0..1) of an RGB colour."""
    h, lightness, s = colorsys.rgb_to_hls(*(c / 255.0 for c in rgb))
    return h * 360.0, lightness, s


def to_hls(pixels: np.ndarray) -> np.ndarray:
    """Float HLS (H in degrees) of uint8 RGB pixels."""
    return cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_RGB2HLS)


def from_hls(hls: np.ndarray) -> np.ndarray:
    """Float RGB (0..255) of float HLS pixels (H in degrees)."""
    return cv2.cvtColor(hls.astype(np.float32), cv2.COLOR_HLS2RGB) * 255.0


def color_weight(hls: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """How much each pixel belongs to colour ``rgb`` (0..1, float32)."""
    hue, lightness, saturation = hls_of(rgb)
    h, li, s = hls[..., 0], hls[..., 1], hls[..., 2]
    if saturation < ACHROMATIC:
        # Black, white and greys: judged by lightness among unsaturated pixels.
        closeness = 1.0 - np.clip((np.abs(li - lightness) - 0.12) / 0.12, 0.0, 1.0)
        grey = 1.0 - np.clip((s - 0.25) / 0.15, 0.0, 1.0)
        return (closeness * grey).astype(np.float32)
    distance = np.abs(((h - hue) + 180.0) % 360.0 - 180.0)
    by_hue = 1.0 - np.clip((distance - HUE_CORE) / (HUE_EDGE - HUE_CORE), 0.0, 1.0)
    by_saturation = np.clip((s - MIN_SATURATION) / 0.1, 0.0, 1.0)
    # Near-black and near-white pixels carry no reliable hue.
    by_lightness = np.clip((li - 0.06) / 0.06, 0.0, 1.0) * np.clip((0.96 - li) / 0.04, 0.0, 1.0)
    return (by_hue * by_saturation * by_lightness).astype(np.float32)


def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` (bool) grown by ``pixels`` on every side (a round kernel): a thing with its edge."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def color_objects(
    weight: np.ndarray, region: Rect | None = None, edge: int = 0, *, fill_place: bool = True
) -> np.ndarray:
    """The things of one colour, whole (bool mask): blobs of pixels of the colour (``weight``,
    from ``color_weight`` over the whole image) with a solid core of a meaningful size, and with a
    ``region`` ("in the top left") only those lying mostly inside it.

    Recolouring and removal find what a colour names here, so neither acts on scattered pixels
    that merely lean towards the colour (an orange cat is not "the red car"; a few greenish noise
    pixels are not "the green mug"), and neither cuts a thing in two at the edge of a place: the
    mug in the middle is not "the red thing on the right" because its handle reaches there.
    A larger expanse of the colour that covers much of the place counts as far as the place goes
    ("the red in the top left" of a red tablecloth), unless ``fill_place`` is off: "the logo in
    the top left" must be a thing of its own there. ``edge`` grows what is found by that many
    pixels (its anti-aliased rim), never past the place for a clipped expanse.
    """
    height, width = weight.shape
    member = (weight > MEMBER_WEIGHT).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(member, connectivity=8)
    if count <= 1:
        return np.zeros((height, width), bool)
    core = np.bincount(labels[weight >= CORE_WEIGHT], minlength=count)
    keep = core >= max(4, MIN_BLOB_SHARE * height * width)
    keep[0] = False
    if region is None or not keep.any():
        return _grown(np.asarray(keep[labels]), edge)
    inside = np.bincount(labels[region.y0 : region.y1, region.x0 : region.x1].ravel(), minlength=count)
    whole = keep & (inside >= MOSTLY_INSIDE * stats[:, cv2.CC_STAT_AREA])
    # A large expanse of the colour that reaches into the place ("the red in the top left" of a
    # red tablecloth) is that place's colour: taken as far as the place goes.
    filling = keep & ~whole & (inside >= FILLS_PLACE * region.area) & fill_place
    mask = _grown(np.asarray(whole[labels]), edge)
    clipped = _grown(np.asarray(filling[labels]), edge)
    inner = (slice(region.y0, region.y1), slice(region.x0, region.x1))
    mask[inner] |= clipped[inner]
    return mask


def _grown(mask: np.ndarray, edge: int) -> np.ndarray:
    return grow_mask(mask, edge) if edge > 0 else mask


#: A thing of the colour this much smaller than the largest one does not make the choice ambiguous.
MINOR_THING = 0.1
_PLURAL = re.compile(r"(?i)\b(?:all|every|each|both|any)\b|所有|全部|一切|每个|各个|都")


def _names_one_thing(target: str, source: str) -> bool:
    """Whether the words name one thing ("the red car", "红色的杯子"), not every thing of the colour
    ("把红色换成蓝色", "the red flowers", "所有红色的")."""
    if not target or _PLURAL.search(source):
        return False
    last = target.split()[-1] if target.split() else target
    return not (last.isascii() and last.endswith("s") and not last.endswith(("ss", "us", "is")))


def check_one_thing(things: np.ndarray, target: str, color: str, source: str, ctx: OpContext) -> None:
    """Refuse to guess which of several separate things of ``color`` the user means by ``target``
    when no place was named: recolouring or removing every red thing when "the red car" was asked
    for would change what was not asked for (a face, a flag). Raised as unsupported, so an engine
    that understands objects takes the edit in auto mode."""
    if not _names_one_thing(target, source):
        return
    count, _, stats, _ = cv2.connectedComponentsWithStats(things.astype(np.uint8), connectivity=8)
    areas = stats[1:count, cv2.CC_STAT_AREA]
    distinct = int(np.count_nonzero(areas >= MINOR_THING * areas.max())) if areas.size else 0
    if distinct <= 1:
        return
    raise UnsupportedOperationError(
        ctx.say(
            f"There are {distinct} separate {color} areas in the picture, and the classic engine cannot "
            f"tell which one is '{target}'. Name its place, e.g. 'the {color} {target} on the left'.",
            f"图中有{distinct}处分开的{color_label(color, True)}区域，经典引擎分不清哪一个是“{target}”。"
            f"请说明它的位置，例如“左边的{color_label(color, True)}{target}”。",
        ),
        hint="An engine that understands objects (qwen, IMGEDIT_QWEN_MODEL) can find it by name.",
    )


def main_colors(samples: np.ndarray, most: int = 4, min_share: float = 0.08) -> np.ndarray:
    """The main colours among ``samples`` (N x 3, any colour space): k-means centres of clusters
    holding at least ``min_share`` of them, so stray pixels (a letter cut through) do not count."""
    samples = samples.astype(np.float32)
    clusters = min(most, len(samples))
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(0)
    _, labels, centers = cv2.kmeans(samples, clusters, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    share = np.bincount(labels.ravel(), minlength=clusters) / len(samples)
    return centers[share >= min_share]
