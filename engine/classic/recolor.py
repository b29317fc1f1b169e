"""Recolouring: give the named pixels a new colour, keeping their shading.

Shading (folds, highlights) is kept as the pixels' lightness offset from their median, moved to
the new colour's lightness, so "navy" comes out dark and "荧光绿" (a real neon) bright, and a
black badge can become red. Which pixels: those of the named source colour ("the red ...")
within the named place or box; with a place or box but no source colour, the dominant colour
there (a flat badge's panel, even black or white); quoted text ("the 'SALE' badge") is found
by OCR, and its badge panel (or, for "text", its letters) recoloured; a named object ("the mug")
is found as the one product on a plain backdrop. Busy scenes have no single object to find:
that is refused, in the user's language, rather than guessed.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
from PIL import Image

from engine.classic.colors import (
    ACHROMATIC,
    MIN_SATURATION,
    check_one_thing,
    color_objects,
    color_weight,
    from_hls,
    grow_mask,
    hls_of,
    main_colors,
    rgb_of,
    to_hls,
)
from engine.classic.context import OpContext, pixels_of
from engine.classic.ocr import read_text
from engine.classic.panels import closeness, panel_around, panel_weight
from engine.classic.regions import Rect, op_rect
from engine.classic.separation import MIN_CONFIDENCE, enclosed, separate
from engine.classic.text import note_approximate
from engine.classic.textmatch import find_text
from engine.parsing.colors import color_label
from engine.plan import Place, Recolor
from imgedit.errors import BadInputError, UnsupportedOperationError

#: Share of a region's pixels that must be of one colour for it to be "the colour of that place".
MIN_DOMINANT_SHARE = 0.05
#: Pixels around a found thing whose partial membership (an anti-aliased edge) is recoloured too.
EDGE_PX = 2
#: Share of the border around a text's "panel" that is still panel beyond which there is no badge.
NO_PANEL_BORDER = 0.6
#: Share of its bounding box a thing found by place must fill: a badge or a logo, not a ragged patch.
SOLID = 0.5
#: Share of the picture a thing found by place must cover: a speck in a texture is not "the logo".
MIN_THING_SHARE = 0.003
_QUOTED = re.compile(r"'([^']+)'")
_LETTERS = re.compile(r"(?i)文字|文本|字|\btext\b|\bwords?\b|\bletters?\b|\blettering\b")
_BADGE = re.compile(r"(?i)标签|角标|徽章|贴纸|badge|tag|sticker|label")


def _text_region(pixels: np.ndarray, op: Recolor, quote: str, ctx: OpContext) -> tuple[Rect, np.ndarray]:
    """The badge (or the letters) of the quoted text: its rectangle and the pixels to recolour."""
    height, width = pixels.shape[:2]
    with ctx.timed("ocr"):
        matches = find_text(read_text(pixels), quote)
    region = op_rect(op.box, op.place, width, height)
    if region is not None:
        matches = [m for m in matches if region.holds_centre_of(m.rect)]
    if not matches:
        raise BadInputError(
            ctx.say(
                f"The text '{quote}' was not found in the picture, so nothing was recoloured.",
                f"图中没有找到文字“{quote}”，所以没有改颜色。",
            )
        )
    note_approximate(matches[:1], quote, ctx)
    text = matches[0].rect
    if _means_letters(op.target):
        return _letters(pixels, [text])
    # The badge: the panel colour around the text, as far as it reaches.
    box, weight = panel_around(pixels, text)
    if _edge_share(weight) > NO_PANEL_BORDER:
        # The "panel" runs on past a text height all round: the text is written on the picture's
        # own background, and recolouring that would repaint the background around it. Named
        # alone ("把'SALE'改成红色"), the text is its letters; named as a badge, there is none.
        if not _BADGE.search(op.target):
            return _letters(pixels, [text])
        raise BadInputError(
            ctx.say(
                f"'{quote}' is not on a badge of its own (it is written on the picture's background), so "
                f"there is no badge to recolour. To recolour its letters, say: make the text '{quote}' "
                f"{op.to_color}.",
                f"“{quote}”没有自己的标签底色（直接写在图片背景上），所以没有标签可以改颜色。"
                f"如要改文字本身的颜色，请说：把文字'{quote}'改成{color_label(op.to_color, True)}。",
            )
        )
    return box, weight


def _edge_share(weight: np.ndarray) -> float:
    """Share of the outermost rows and columns of ``weight`` that are mostly in (> 0.5): a colour
    that reaches the frame all round runs on beyond what was asked about."""
    edge = np.concatenate([weight[0], weight[-1], weight[:, 0], weight[:, -1]])
    return float(np.mean(edge > 0.5))


def _means_letters(target: str) -> bool:
    """Whether the words name the letters themselves ("the text", "文字"), not a badge around them."""
    return bool(_LETTERS.search(target)) and not _BADGE.search(target)


def _letters(pixels: np.ndarray, rects: list[Rect]) -> tuple[Rect, np.ndarray]:
    """The letters inside text boxes (pixels unlike their flat surroundings): the rectangle
    around all of them and the weight of each pixel in it."""
    height, width = pixels.shape[:2]
    boxes = [rect.padded(2, width, height) for rect in rects]
    union = Rect(
        min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes)
    )
    weight = np.zeros((union.height, union.width), np.float32)
    for box in boxes:
        crop = pixels[box.y0 : box.y1, box.x0 : box.x1]
        local = weight[box.y0 - union.y0 : box.y1 - union.y0, box.x0 - union.x0 : box.x1 - union.x0]
        np.maximum(local, 1.0 - panel_weight(crop), out=local)
    return union, weight


def _unquoted_text_region(pixels: np.ndarray, op: Recolor, ctx: OpContext) -> tuple[Rect, np.ndarray]:
    """The letters of every line of writing in the named place (or the picture): "把底部的文字改成
    红色" recolours the words at the bottom, never whatever colour dominates there."""
    height, width = pixels.shape[:2]
    region = op_rect(op.box, op.place, width, height)
    with ctx.timed("ocr"):
        lines = [line for line in read_text(pixels) if line.is_writing]
    if region is not None:
        lines = [line for line in lines if region.holds_centre_of(line.rect)]
    if not lines:
        raise BadInputError(
            ctx.say(
                "No text was found"
                + (" in that part of the picture" if region is not None else " in the picture")
                + ", so nothing was recoloured.",
                f"{'该位置' if region is not None else '图中'}没有找到文字，所以没有改颜色。",
            )
        )
    return _letters(pixels, [line.rect for line in lines])


def _thing_in_place(pixels: np.ndarray, op: Recolor, place: Rect, ctx: OpContext) -> tuple[Rect, np.ndarray]:
    """ "The logo in the top left": the largest solid thing of one flat colour lying (mostly) in
    that place, whole. A colour that runs on beyond the place (a wall, fur, a rocket's tank) or is
    the picture's own backdrop is no thing of its own there, so with none found nothing is
    recoloured, rather than repainting whatever dominates that corner."""
    height, width = pixels.shape[:2]
    lab = cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab).astype(np.float32)
    samples = lab[place.y0 : place.y1, place.x0 : place.x1].reshape(-1, 3)
    samples = samples[:: max(1, len(samples) // 20000)]  # the main colours need no more
    best: tuple[int, np.ndarray, np.ndarray] | None = None
    for center in main_colors(samples, most=6, min_share=0.03):
        weight = closeness(lab, center)
        if _edge_share(weight) > 0.5:
            continue  # the backdrop, seen in that place (through a handle's loop, say)
        things = color_objects(weight, place, fill_place=False)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(things.astype(np.uint8), connectivity=8)
        for label in range(1, count):
            x, y, box_w, box_h, area = (int(v) for v in stats[label])
            cut_off = x == 0 or y == 0 or x + box_w == width or y + box_h == height
            if cut_off or box_w * box_h < MIN_THING_SHARE * width * height:
                continue  # a badge or a logo sits inside the picture, whole; a wall runs out of it
            # The letters on a badge are holes in its panel: they count as part of its shape.
            shape = labels[y : y + box_h, x : x + box_w] == label
            filled = area + int(enclosed(shape).sum())
            if filled < SOLID * box_w * box_h or filled < MIN_THING_SHARE * width * height:
                continue
            if best is None or area > best[0]:
                best = (area, weight, labels == label)
    if best is None:
        raise BadInputError(
            ctx.say(
                f"No '{op.target}' of its own was found in that part of the picture, so nothing was "
                f"recoloured. Name its current colour as well (e.g. 'the red {op.target}').",
                f"该位置没有找到单独的“{op.target}”，所以没有改颜色。请同时说明它现在的颜色（例如“红色的{op.target}”）。",
            )
        )
    _, weight, thing = best
    return Rect(0, 0, width, height), weight * grow_mask(thing, EDGE_PX)


def _object_region(pixels: np.ndarray, op: Recolor, ctx: OpContext) -> tuple[Rect, np.ndarray]:
    """The one product on a plain backdrop, as the object the user named ("the mug")."""
    height, width = pixels.shape[:2]
    with ctx.timed("segment"):
        separation = separate(pixels)
    if separation.confidence < MIN_CONFIDENCE:
        raise UnsupportedOperationError(
            ctx.say(
                f"Could not find '{op.target}' on its own: {separation.reason_en}. Name its current colour "
                "or its place ('make the red mug blue', 'make the red in the top left blue').",
                f"无法单独找到“{op.target}”：{separation.reason_zh}。请说明它现在的颜色或位置"
                "（例如“把红色的杯子换成蓝色”或“把左上角的红色换成蓝色”）。",
            ),
            hint="An engine that understands objects (qwen, IMGEDIT_QWEN_MODEL) can find it by name.",
        )
    ctx.parameters["object"] = "the one product on a plain backdrop (backdrop-colour separation)"
    alpha = separation.alpha
    product = pixels[alpha > 0.5]
    found = dominant_color(product.reshape(-1, 1, 3)) if product.size else None
    if found is None:  # a grey, white or black product: all of it
        return Rect(0, 0, width, height), alpha
    return Rect(0, 0, width, height), alpha * color_weight(to_hls(pixels), found)


def dominant_color(pixels: np.ndarray) -> tuple[int, int, int] | None:
    """The most common saturated hue among ``pixels`` (RGB), or None if the region is grey."""
    hls = to_hls(pixels)
    saturated = hls[..., 2] > MIN_SATURATION + 0.08
    if saturated.mean() < MIN_DOMINANT_SHARE:
        return None
    hist, edges = np.histogram(hls[..., 0][saturated], bins=36, range=(0.0, 360.0))
    # Circular smoothing so a hue split across two bins is not undercounted.
    smooth = hist + np.roll(hist, 1) + np.roll(hist, -1)
    peak = int(np.argmax(smooth))
    members = pixels[
        saturated & (np.abs(((hls[..., 0] - (edges[peak] + 5.0)) + 180.0) % 360.0 - 180.0) < 15.0)
    ]
    if len(members) == 0:
        return None
    median = np.median(members, axis=0).round().astype(int)
    return (int(median[0]), int(median[1]), int(median[2]))


def recolor(image: Image.Image, op: Recolor, ctx: OpContext) -> Image.Image:
    pixels = pixels_of(image)
    height, width = pixels.shape[:2]
    target_rgb = rgb_of(op.to_color, "target colour")
    region = op_rect(op.box, op.place, width, height) or Rect(0, 0, width, height)
    named_region = op.box is not None or (
        op.place is not None and op.place not in (Place.BACKGROUND, Place.FOREGROUND)
    )
    quote = _QUOTED.search(op.target or "")

    with ctx.timed("mask"):
        if op.from_color:
            # The things of that colour, whole (their soft edges too), never scattered pixels.
            full = color_weight(to_hls(pixels), rgb_of(op.from_color, "colour"))
            place = op_rect(op.box, op.place, width, height)
            things = color_objects(full, place, edge=EDGE_PX)
            if place is None:
                check_one_thing(things, op.target, op.from_color, op.source, ctx)
            region = Rect(0, 0, width, height)
            weight = full * things
        elif quote:
            region, weight = _text_region(pixels, op, quote.group(1), ctx)
        elif _means_letters(op.target):
            region, weight = _unquoted_text_region(pixels, op, ctx)
        elif named_region and op.target and op.box is None:
            region, weight = _thing_in_place(pixels, op, region, ctx)
        elif named_region:
            crop = pixels[region.y0 : region.y1, region.x0 : region.x1]
            found = dominant_color(crop)
            # No distinct hue: a flat panel (a black or white badge) is its most common colour.
            weight = color_weight(to_hls(crop), found) if found is not None else panel_weight(crop)
        elif op.target:
            region, weight = _object_region(pixels, op, ctx)
        else:
            raise UnsupportedOperationError(
                ctx.say(
                    "Say what to recolour: its current colour or its place "
                    "('make the red in the top left blue').",
                    "请说明要改颜色的是什么：它现在的颜色或位置（例如“把左上角的红色换成蓝色”）。",
                )
            )
    if float(weight.max()) <= 0.0:
        raise BadInputError(
            ctx.say(
                f"No {op.from_color or 'matching'} pixels were found"
                + (" in that part of the image." if named_region else " in the image.")
                + " Check the colour name, or name the place where it is.",
                f"图中{'该位置' if named_region else ''}没有找到"
                f"{color_label(op.from_color, True) if op.from_color else '要修改的颜色'}。"
                "请检查颜色名称，或者说明它的位置。",
            )
        )

    with ctx.timed("recolor"):
        crop = pixels[region.y0 : region.y1, region.x0 : region.x1]
        hls = to_hls(crop)
        hue, target_l, target_s = hls_of(target_rgb)
        new = hls.copy()
        new[..., 0] = hue
        chosen = weight > 0
        # Shading is kept as each pixel's offset from the median lightness, moved to the target's.
        shift = target_l - float(np.median(hls[..., 1][chosen]))
        new[..., 1] = np.clip(hls[..., 1] + shift, 0.0, 1.0)
        if target_s < ACHROMATIC:
            new[..., 2] = target_s
        else:
            reference = float(np.median(hls[..., 2][chosen]))
            if reference < MIN_SATURATION:  # from a grey, black or white: the target's saturation
                new[..., 2] = target_s
            else:
                new[..., 2] = np.clip(hls[..., 2] * (target_s / max(0.05, reference)), 0.0, 1.0)
        rgb = from_hls(new)
        alpha = weight[..., None]
        blended = (rgb * alpha + crop.astype(np.float32) * (1.0 - alpha)).round().astype(np.uint8)
        out = pixels.copy()
        out_crop = out[region.y0 : region.y1, region.x0 : region.x1]
        out_crop[chosen] = blended[chosen]
    return Image.fromarray(out)
