"""Rewriting and removing text in an image: find it with OCR, erase it, draw the new words.

For each matched line: the text pixels are separated from the local background by their colour
distance to the main colours of the box's frame (k-means; the frame is background, since the
OCR box surrounds the text), thresholded with Otsu, dilated to take the anti-aliased edges, and
erased (flat fill on plain panels, inpainting elsewhere). This works on photos, where a grey
threshold would split the background's own light and dark parts.
The new text takes the old text's colour (median of its pixels) and size (the font size whose
ink height matches the old ink), shrinks to fit the box's width, and wraps onto two lines when
that keeps it larger. Nothing outside the matched boxes (plus a few pixels) changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.classic.colors import main_colors
from engine.classic.context import OpContext, pixels_of
from engine.classic.fonts import FontFace, drawable_font, find_font
from engine.classic.inpaint import erase_checked, note_fill
from engine.classic.ocr import TextLine, read_text
from engine.classic.regions import Rect, op_rect
from engine.classic.textmatch import TextMatch, find_prices, find_text, is_cjk
from engine.plan import TextRemove, TextReplace
from imgedit.errors import BadInputError

#: Pixels added around an OCR box before separating text from background.
BOX_PAD = 2
#: Colours closer than this to the background (Lab units) are never text, even on a flat panel.
MIN_INK_DISTANCE = 18.0
#: A watermark in the outer band of the picture (this share of each side) is a likely target.
WATERMARK_BAND = 0.25
_MEASURE = ImageDraw.Draw(Image.new("L", (1, 1)))


@dataclass
class InkSample:
    """What was written in a box: which pixels, in what colour, spanning which tight box."""

    mask: np.ndarray  # bool, the box's shape
    color: tuple[int, int, int]
    ink: Rect  # tight box of the text pixels, in image coordinates


def _background_colors(crop_lab: np.ndarray) -> np.ndarray:
    """The main colours of a box's frame (Lab), which is background: the box surrounds the text.

    Clusters holding little of the frame are dropped: they are letters the frame cut through.
    """
    frame = np.concatenate(
        [
            crop_lab[:2].reshape(-1, 3),
            crop_lab[-2:].reshape(-1, 3),
            crop_lab[:, :2].reshape(-1, 3),
            crop_lab[:, -2:].reshape(-1, 3),
        ]
    )
    return main_colors(frame)


def sample_ink(image: np.ndarray, rect: Rect) -> InkSample:
    """Separate the text pixels in ``rect`` from their background.

    A pixel is text when its colour is far (Otsu's threshold on the distance, in Lab) from every
    main colour of the box's frame, which works on flat panels and on photos alike.
    """
    crop = image[rect.y0 : rect.y1, rect.x0 : rect.x1]
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    centers = _background_colors(lab)
    distance = np.min(np.linalg.norm(lab[:, :, None, :] - centers[None, None], axis=-1), axis=-1)
    scaled = np.clip(distance * (255.0 / max(1.0, float(distance.max()))), 0, 255).astype(np.uint8)
    threshold, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    cutoff = max(threshold * max(1.0, float(distance.max())) / 255.0, MIN_INK_DISTANCE)
    text = distance > cutoff
    if not text.any():
        text = np.ones(distance.shape, bool)
    core = cv2.erode(text.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    pixels = crop[core] if core.sum() >= 12 else crop[text]
    color = np.median(pixels, axis=0).round().astype(int)
    ys, xs = np.nonzero(text)
    ink = Rect(
        rect.x0 + int(xs.min()),
        rect.y0 + int(ys.min()),
        rect.x0 + int(xs.max()) + 1,
        rect.y0 + int(ys.max()) + 1,
    )
    return InkSample(mask=text, color=(int(color[0]), int(color[1]), int(color[2])), ink=ink)


def _erase_box(image: np.ndarray, rect: Rect, grow: float, ctx: OpContext) -> tuple[np.ndarray, InkSample]:
    """Erase the text inside ``rect``; ``grow`` widens the mask (share of the box height)."""
    height, width = image.shape[:2]
    box = rect.padded(BOX_PAD, width, height)
    ink = sample_ink(image, box)
    radius = max(2, round(box.height * grow))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    limit = box.padded(radius, width, height)
    local = np.zeros((limit.height, limit.width), np.uint8)
    local[box.y0 - limit.y0 : box.y1 - limit.y0, box.x0 - limit.x0 : box.x1 - limit.x0] = ink.mask
    local = cv2.dilate(local, kernel)
    mask = np.zeros((height, width), bool)
    mask[limit.y0 : limit.y1, limit.x0 : limit.x1] = local.astype(bool)
    erased = erase_checked(image, mask)
    note_fill(ctx, erased)
    return erased.image, ink


# -- fitting and drawing the new text ---------------------------------------------------------


def _bbox(text: str, font: ImageFont.FreeTypeFont, spacing: int) -> tuple[float, float, float, float]:
    box = _MEASURE.multiline_textbbox((0, 0), text, font=font, spacing=spacing, align="center")
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _two_lines(text: str) -> str | None:
    """``text`` split into two lines of similar width: at a space for words, anywhere for CJK."""
    words = text.split()
    if len(words) >= 2:
        best = min(
            range(1, len(words)),
            key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))),
        )
        return " ".join(words[:best]) + "\n" + " ".join(words[best:])
    if is_cjk(text) and len(text) >= 2:
        middle = (len(text) + 1) // 2
        return text[:middle] + "\n" + text[middle:]
    return None


def fit_text(face: FontFace, text: str, size: int, width: int, height: int) -> tuple[str, int]:
    """The layout (one or two lines) and font size that draws ``text`` largest, up to ``size``,
    within ``width`` x ``height`` pixels."""

    def largest(layout: str) -> int:
        spacing = max(1, size // 8)
        x0, y0, x1, y1 = _bbox(layout, face.at(size), spacing)
        factor = min(1.0, width / max(1.0, x1 - x0), height / max(1.0, y1 - y0))
        fitted = max(6, int(size * factor))
        # Glyph metrics do not scale exactly linearly; step down until it truly fits.
        while fitted > 6:
            x0, y0, x1, y1 = _bbox(layout, face.at(fitted), max(1, fitted // 8))
            if x1 - x0 <= width and y1 - y0 <= height:
                break
            fitted -= 1
        return fitted

    single = largest(text)
    split = _two_lines(text) if single < size * 0.7 else None
    if split is not None:
        double = largest(split)
        if double > single * 1.1:
            return split, double
    return text, single


def draw_text(
    image: np.ndarray,
    text: str,
    area: Rect,
    center: tuple[float, float],
    size: int,
    color: tuple[int, int, int],
) -> np.ndarray:
    """Draw ``text`` (fitted into ``area``) centred on ``center`` in ``color``; only ``area`` changes."""
    face = find_font(text)
    layout, fitted = fit_text(face, text, size, area.width, area.height)
    font = face.at(fitted)
    spacing = max(1, fitted // 8)
    x0, y0, x1, y1 = _bbox(layout, font, spacing)
    ink_w, ink_h = x1 - x0, y1 - y0
    # Centre the ink on ``center`` but keep it inside the area.
    left = min(max(center[0] - ink_w / 2, area.x0), area.x1 - ink_w)
    top = min(max(center[1] - ink_h / 2, area.y0), area.y1 - ink_h)
    crop = Image.fromarray(image[area.y0 : area.y1, area.x0 : area.x1])
    draw = ImageDraw.Draw(crop)
    origin = (left - area.x0 - x0, top - area.y0 - y0)
    draw.multiline_text(origin, layout, font=font, fill=color, spacing=spacing, align="center")
    out = image.copy()
    out[area.y0 : area.y1, area.x0 : area.x1] = np.asarray(crop)
    return out


def _size_for_ink(face: FontFace, text: str, ink_height: int) -> int:
    """The font size at which ``text`` is ``ink_height`` pixels tall in ``face``."""
    _, y0, _, y1 = _bbox(text, face.at(100), 12)
    return max(6, round(100 * ink_height / max(1.0, y1 - y0)))


# -- the operations -----------------------------------------------------------------------------


def _lines(image: np.ndarray, region: Rect | None, ctx: OpContext) -> list[TextLine]:
    """OCR lines of the image, or of the named region (plus a margin, so lines crossing its
    edge are read whole), in image coordinates."""
    with ctx.timed("ocr"):
        if region is None:
            return read_text(image)
        height, width = image.shape[:2]
        area = region.padded(max(8, max(region.width, region.height) // 10), width, height)
        lines = read_text(image[area.y0 : area.y1, area.x0 : area.x1])
        return [
            TextLine(line.text, tuple((x + area.x0, y + area.y0) for x, y in line.quad), line.score)
            for line in lines
        ]


def _in_region(rect: Rect, region: Rect | None) -> bool:
    if region is None:
        return True
    return region.holds_centre_of(rect)


def _not_found(query: str, lines: list[TextLine], ctx: OpContext) -> BadInputError:
    seen = ", ".join(f"'{line.text}'" for line in lines[:8])
    seen_zh = "、".join(f"“{line.text}”" for line in lines[:8])
    return BadInputError(
        ctx.say(
            f"Could not find the text '{query}' in the image. "
            + (f"The text found was: {seen}." if lines else "No text was found in the image.")
            + " Quote the text as it appears in the picture.",
            f"图中没有找到文字“{query}”。"
            + (f"图中识别到的文字有：{seen_zh}。" if lines else "图中没有识别到文字。")
            + "请按图中的写法引用要修改的文字。",
        )
    )


def _matches(image: np.ndarray, query: str, region: Rect | None, ctx: OpContext) -> list[TextMatch]:
    lines = _lines(image, region, ctx)
    matches = [m for m in find_text(lines, query) if _in_region(m.rect, region)]
    if not matches:
        raise _not_found(query, lines, ctx)
    note_approximate(matches, query, ctx)
    return matches


def note_approximate(matches: list[TextMatch], query: str, ctx: OpContext) -> None:
    """Say so when the quoted text was not found as written and its closest match was used
    instead (OCR misreads letters, users misremember them): the user decides if it was right."""
    for match in matches:
        if match.score < 100.0:
            seen = match.line.text
            ctx.warn(
                ctx.say(
                    f"'{query}' was not found exactly as written; the closest text in the picture, "
                    f"'{seen}', was used. Check that it is the one you meant.",
                    f"图中没有找到与“{query}”完全一致的文字，使用了最接近的“{seen}”。请确认这是你要改的文字。",
                )
            )


def _price_matches(pixels: np.ndarray, region: Rect | None, ctx: OpContext) -> list[TextMatch]:
    """The prices the picture shows (in ``region``), or an error in the user's language."""
    matches = [m for m in find_prices(_lines(pixels, region, ctx)) if _in_region(m.rect, region)]
    if not matches:
        raise BadInputError(
            ctx.say(
                "No price (such as ¥99 or $19.99) was found in the picture to change.",
                "图中没有找到价格（例如 ¥99 或 $19.99），所以没有修改。",
            )
        )
    return matches


def replace_text(image: Image.Image, op: TextReplace, ctx: OpContext) -> Image.Image:
    """Replace every occurrence of ``op.old`` (or its closest approximate match), or with
    ``op.price`` every price the picture shows, with ``op.new``."""
    if not op.price and not op.old.strip():
        raise BadInputError(
            ctx.say(
                "Say which text to replace, e.g. replace 'SALE' with 'NEW'.",
                "请说明要替换哪段文字，例如：把'限时优惠'换成'买一送一'。",
            )
        )
    if op.new.strip():
        drawable_font(op.new, ctx)  # fail before any work if the new text cannot be drawn
    pixels = pixels_of(image).copy()
    height, width = pixels.shape[:2]
    region = op_rect(op.box, op.place, width, height)
    matches = _price_matches(pixels, region, ctx) if op.price else _matches(pixels, op.old, region, ctx)
    for match in matches:
        with ctx.timed("inpaint"):
            pixels, ink = _erase_box(pixels, match.rect, grow=0.06, ctx=ctx)
        if not op.new.strip():
            continue
        with ctx.timed("render"):
            reference = match.line.text if match.whole_line or op.price else op.old
            size = _size_for_ink(find_font(reference), reference, ink.ink.height)
            area = match.rect.padded(BOX_PAD, width, height)
            center = ((ink.ink.x0 + ink.ink.x1) / 2, (ink.ink.y0 + ink.ink.y1) / 2)
            pixels = draw_text(pixels, op.new, area, center, size, ink.color)
    return Image.fromarray(pixels)


def remove_text(image: Image.Image, op: TextRemove, ctx: OpContext) -> Image.Image:
    """Erase the quoted text, or every line in the named place (a watermark: the picture's edges)."""
    pixels = pixels_of(image).copy()
    height, width = pixels.shape[:2]
    region = op_rect(op.box, op.place, width, height)
    grow = 0.12 if op.watermark else 0.06
    if op.text and op.text.strip():
        rects = [m.rect for m in _matches(pixels, op.text, region, ctx)]
    else:
        lines = _lines(pixels, region, ctx)
        rects = [line.rect for line in lines if line.is_writing and _in_region(line.rect, region)]
        if region is None and op.watermark:
            band = [r for r in rects if _in_edge_band(r, width, height)]
            rects = band or rects
        if not rects:
            where = "in that part of the image" if region is not None else "in the image"
            raise BadInputError(
                ctx.say(
                    f"No text was found {where} to remove. Name the text in quotes, or the place it "
                    "is (e.g. 'bottom right').",
                    f"{'该位置' if region is not None else '图中'}没有找到可以去除的文字。"
                    "请用引号写出要去除的文字，或说明它的位置（例如“右下角”）。",
                )
            )
        # Removing by place removes the whole mark, symbols the OCR box left out included.
        rects = [extend_along_line(pixels, rect) for rect in rects]
    with ctx.timed("inpaint"):
        for rect in rects:
            pixels, _ = _erase_box(pixels, rect, grow=grow, ctx=ctx)
    return Image.fromarray(pixels)


def extend_along_line(image: np.ndarray, rect: Rect) -> Rect:
    """``rect`` widened over marks of the same ink just beside it on its line.

    OCR detectors often leave out symbols next to a word ("©", "®", a small logo), so erasing the
    detected box of "© SAMPLE" would leave the "©" behind. Strips half the line's height wide are
    added on each side while they hold pixels of the line's ink colour, allowing one empty strip
    (a space) and at most three line-heights of growth.
    """
    height, width = image.shape[:2]
    ink = sample_ink(image, rect.padded(BOX_PAD, width, height))
    ink_lab = cv2.cvtColor(np.array([[ink.color]], dtype=np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)[
        0, 0
    ]
    step = max(2, rect.height // 2)
    limit = 3 * rect.height

    def has_ink(x0: int, x1: int) -> bool:
        strip = image[rect.y0 : rect.y1, max(0, x0) : min(width, x1)]
        if strip.size == 0:
            return False
        lab = cv2.cvtColor(strip, cv2.COLOR_RGB2LAB).astype(np.float32)
        close = np.linalg.norm(lab - ink_lab, axis=-1) < MIN_INK_DISTANCE
        return bool(close.mean() > 0.03)

    x0, x1 = rect.x0, rect.x1
    for direction in (-1, 1):
        edge, gap, grown = (x0 if direction < 0 else x1), 0, 0
        reach = edge
        while grown < limit and 0 < edge < width and gap <= 1:
            nxt = edge + direction * step
            found = has_ink(min(edge, nxt), max(edge, nxt))
            edge, grown = nxt, grown + step
            gap = 0 if found else gap + 1
            if found:
                reach = edge
        if direction < 0:
            x0 = max(0, reach)
        else:
            x1 = min(width, reach)
    return Rect(x0, rect.y0, x1, rect.y1)


def _in_edge_band(rect: Rect, width: int, height: int) -> bool:
    """Whether a box's centre lies in the outer band of the picture, where watermarks sit."""
    cx, cy = (rect.x0 + rect.x1) / 2 / width, (rect.y0 + rect.y1) / 2 / height
    return min(cx, 1 - cx, cy, 1 - cy) < WATERMARK_BAND
