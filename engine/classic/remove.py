"""Removing things by colour or by place, filling the hole without a ghost.

"Remove the red sticker" masks the red pixels (within the named place, if any) and then the
whole mark around them: its outline, its drop shadow and its soft edge, i.e. the pixels next to
it that the surroundings do not explain (``mark_extent``), since a ring left behind is the ghost
users notice. An operation with a ``box`` (a known object's box, e.g. a badge the agent added)
fills exactly that box; "remove the thing in the bottom left" separates the object in that place
with GrabCut. The hole is filled texture-aware and the fill checked (``inpaint.erase_checked``);
the report names the method and the ghost measure. The classic engine cannot find objects by
name alone ("remove the cup"), so such a request is refused saying how to phrase it.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from engine.classic.colors import (
    check_one_thing,
    color_objects,
    color_weight,
    grow_mask,
    main_colors,
    rgb_of,
    to_hls,
)
from engine.classic.context import OpContext, pixels_of
from engine.classic.inpaint import border_ring, erase_checked, note_fill
from engine.classic.ocr import read_text
from engine.classic.panels import panel_around
from engine.classic.regions import Rect, op_rect
from engine.classic.segment import SEGMENT_SIDE, grabcut
from engine.classic.textmatch import find_prices
from engine.parsing.colors import color_label
from engine.parsing.text import PRICE_TAG
from engine.plan import Remove
from imgedit.errors import BadInputError, UnsupportedOperationError

#: Lab distance from every main colour of the surroundings beyond which a pixel is not background.
MARK_DISTANCE = 20.0


def _surrounding_colors(lab: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """The main colours (Lab) of the ring around a mark: k-means, small clusters dropped."""
    samples = lab[ring]
    if len(samples) > 4000:
        samples = samples[:: len(samples) // 4000]
    return main_colors(samples)


def _layer(lab: np.ndarray, mask: np.ndarray, band: np.ndarray, outer: np.ndarray) -> np.ndarray | None:
    """The next layer of a mark around ``mask`` (an outline, a rim), when there is one: the thin
    ring right outside is one even colour, unlike the surroundings ``outer``; returns the pixels
    of that colour inside ``band`` connected to ``mask``."""
    ring = border_ring(mask, width=2) & band
    if np.count_nonzero(ring) < 12:
        return None
    colors = lab[ring]
    center = np.median(colors, axis=0)
    even = np.linalg.norm(colors - center, axis=1) < 12.0
    if even.mean() < 0.7 or np.linalg.norm(np.median(lab[outer], axis=0) - center) < MARK_DISTANCE:
        return None
    close = (np.linalg.norm(lab - center, axis=2) < 14.0) & band | mask
    _, labels = cv2.connectedComponents(close.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[mask])
    return np.isin(labels, touching[touching > 0])


def mark_extent(pixels: np.ndarray, mask: np.ndarray, reach: int) -> np.ndarray:
    """``mask`` grown over the mark's outline, shadow and soft edge, within ``reach`` pixels:
    even-coloured layers hugging it (a sticker's white rim, its shadow), then any pixels touching
    it that no main colour of the surroundings explains (anti-aliased and faded edges)."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return mask
    pad = 2 * reach + 8
    y0, y1 = max(0, int(ys.min()) - pad), min(height, int(ys.max()) + pad + 1)
    x0, x1 = max(0, int(xs.min()) - pad), min(width, int(xs.max()) + pad + 1)
    local = mask[y0:y1, x0:x1]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    band = cv2.dilate(local.astype(np.uint8), kernel).astype(bool)
    outer = border_ring(band, width=3)
    if not outer.any():
        return mask
    lab = cv2.cvtColor(pixels[y0:y1, x0:x1], cv2.COLOR_RGB2LAB).astype(np.float32)
    grown = local
    for _ in range(3):  # an outline, a second rim, a shadow
        layer = _layer(lab, grown, band, outer)
        if layer is None or np.count_nonzero(layer) == np.count_nonzero(grown):
            break
        grown = layer
    centers = _surrounding_colors(lab, outer)
    distance = np.min(np.linalg.norm(lab[:, :, None, :] - centers[None, None], axis=-1), axis=-1)
    near = cv2.dilate(grown.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    foreign = (distance > MARK_DISTANCE) & near & band | grown
    _, labels = cv2.connectedComponents(foreign.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[grown])
    out = mask.copy()
    out[y0:y1, x0:x1] |= np.isin(labels, touching[touching > 0])
    return out


#: Share of a place's rim that an object found there may cover and still lie wholly inside it.
RIM_SHARE = 0.02


def _cut_off_by(mask: np.ndarray, region: Rect) -> bool:
    """Whether the object GrabCut separated inside ``region`` is cut by the region's edge: the
    thing goes on outside the place ("the thing in the middle" of a cat is the cat's face), and
    removing the part inside would leave the rest of it behind."""
    height, width = mask.shape
    rim = max(2, round(max(height, width) / SEGMENT_SIDE) + 1)
    inner = np.zeros_like(mask)
    inner[region.y0 + rim : region.y1 - rim, region.x0 + rim : region.x1 - rim] = True
    band = np.zeros_like(mask)
    band[region.y0 : region.y1, region.x0 : region.x1] = True
    band &= ~inner
    return bool(band.any()) and float(mask[band].mean()) > RIM_SHARE


def _price_tags(pixels: np.ndarray, region: Rect | None, ctx: OpContext) -> np.ndarray:
    """The price tags in the picture (in ``region``): each line OCR reads with a price in it,
    with the flat panel behind it."""
    height, width = pixels.shape[:2]
    with ctx.timed("ocr"):
        lines = read_text(pixels)
    matches = [m for m in find_prices(lines) if region is None or region.holds_centre_of(m.rect)]
    if not matches:
        raise BadInputError(
            ctx.say(
                "No price tag (a price such as ¥99 or $19.99) was found in the picture to remove.",
                "图中没有找到价格标签（例如 ¥99 或 $19.99），所以没有去除。",
            )
        )
    mask = np.zeros((height, width), bool)
    for match in matches:
        line = match.line.rect
        mask[line.y0 : line.y1, line.x0 : line.x1] = True
        box, panel = panel_around(pixels, line)
        mask[box.y0 : box.y1, box.x0 : box.x1] |= panel > 0.3
    return mask


def remove(image: Image.Image, op: Remove, ctx: OpContext) -> Image.Image:
    pixels = pixels_of(image)
    height, width = pixels.shape[:2]
    region = op_rect(op.box, op.place, width, height)
    margin = max(2, round(min(height, width) * 0.006))
    with ctx.timed("mask"):
        if op.color:
            mask = color_objects(color_weight(to_hls(pixels), rgb_of(op.color)), region)
            if region is None:
                check_one_thing(mask, op.target, op.color, op.source, ctx)
            if not mask.any():
                where = " in that part of the image" if region else ""
                raise BadInputError(
                    ctx.say(
                        f"Nothing {op.color} was found to remove{where}.",
                        f"{'该位置' if region else '图中'}没有找到要去除的"
                        f"{color_label(op.color, True)}内容。",
                    )
                )
        elif PRICE_TAG.search(op.target) and op.box is None:
            mask = _price_tags(pixels, region, ctx)
        elif op.box is not None and region is not None:
            mask = np.zeros((height, width), bool)
            mask[region.y0 : region.y1, region.x0 : region.x1] = True
        elif region is not None:
            mask = grabcut(pixels, region) > 0.5
            if _cut_off_by(mask, region):
                raise BadInputError(
                    ctx.say(
                        "What is in that part of the picture runs on beyond it (it is part of something "
                        "larger), so nothing was removed: the classic engine removes only a thing lying "
                        "wholly there. Name its colour as well, or a place that holds all of it.",
                        "该位置的物体延伸到了这个范围之外（是更大物体的一部分），所以没有去除：经典引擎只去除"
                        "完整位于该位置的东西。请同时说明它的颜色，或者说一个能完整包含它的位置。",
                    )
                )
            if not mask.any():
                raise BadInputError(
                    ctx.say(
                        "No distinct object was found in that part of the image to remove. Name its "
                        "colour as well ('remove the red logo in the top left').",
                        "该位置没有找到明显的物体可以去除。请同时说明它的颜色（例如“去掉左上角的红色标志”）。",
                    )
                )
            ctx.warn(
                ctx.say(
                    "The object was separated from its surroundings by GrabCut; check the edges.",
                    "物体是用 GrabCut 从周围分离出来的，请检查边缘。",
                )
            )
        else:
            what = f"'{op.target}'" if op.target else "the thing to remove"
            raise UnsupportedOperationError(
                ctx.say(
                    f"Could not tell where {what} is (remove). Name its colour or place "
                    "('remove the red stamp', 'remove the logo in the bottom right').",
                    f"无法确定要去除的“{op.target or '内容'}”在哪里。请说明它的颜色或位置"
                    "（例如“去掉红色的印章”“去掉右下角的标志”）。",
                ),
                hint="An engine that understands objects (qwen, IMGEDIT_QWEN_MODEL) can find it by name.",
            )
        if op.color or PRICE_TAG.search(op.target):
            mask = mark_extent(pixels, mask, reach=max(3, round(min(height, width) * 0.02)))
        if op.color or op.box is None:
            mask = grow_mask(mask, margin)
    with ctx.timed("inpaint"):
        erased = erase_checked(pixels, mask)
    note_fill(ctx, erased)
    return Image.fromarray(erased.image)
