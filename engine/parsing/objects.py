"""Edits to things in the picture: the background, recolouring, and removing objects.

These rules read the clause without its place phrase ("背景中的", "on the left"), so
"把背景中的绿色改成黄色" is a recolour of green at ``Place.BACKGROUND``, while
"把背景换成白色" is a background change.
"""

from __future__ import annotations

import re

from engine.parsing.clause import Clause, IncompleteEdit
from engine.parsing.colors import canonical_color, color_only, find_color
from engine.parsing.quotes import PLACEHOLDER
from engine.parsing.text import PRICE_TAG, REMOVE_VERB
from engine.plan import Background, Generative, Recolor, Remove

# -- background ------------------------------------------------------------------------------

_BACKGROUND = re.compile(r"(?i)背景|底色|\bbackground\b|\bbackdrop\b|\bbg\b")
_BLUR = re.compile(r"(?i)虚化|模糊|\bblur(?:red|ry)?\b|\bbokeh\b|\bdefocus(?:ed)?\b|\bout\s+of\s+focus\b")
_ZH_TO = r"(?:换成|改成|变成|改为|换为|变为|设为|设置为|设置成|调成|替换成|替换为|换一个|换个|用|是)"
_BG_ZH_CHANGE = re.compile(rf"(?:背景|底色)(?:的颜色|颜色|色)?\s*{_ZH_TO}\s*(?P<what>.+)$")
_BG_ZH_NOUN = re.compile(rf"{_ZH_TO}\s*(?P<what>.+?)的?(?:背景|底色)$")
_BG_EN_CHANGE = re.compile(
    r"(?i)\b(?:background|backdrop|bg)(?:\s+colou?r)?\s+(?:to|into|with|for|by)\s+(?P<what>.+)$"
)
_BG_EN_MAKE = re.compile(
    r"(?i)\b(?:make|turn|paint|colou?r|set)\s+the\s+(?:background|backdrop|bg)(?:\s+colou?r)?\s+(?P<what>.+)$"
)
_BG_EN_NOUN = re.compile(
    r"(?i)\b(?:give|use|put|add|set|with)\b(?:\s+(?:it|this|the\s+(?:image|photo|picture)))?\s+(?:a|an)?\s*"
    r"(?P<what>[\w\s-]+?)\s+(?:background|backdrop)\b"
)


_TRANSPARENT = re.compile(r"(?i)透明|\btransparent\b|\balpha\b|\bsee[\s-]*through\b")
_CUT_OUT = re.compile(r"(?i)抠图|抠出|抠像|\bcut[\s-]*out\b|\bisolate\s+the\s+(?:product|subject|object)\b")
# A colour that describes the backdrop as it is ("the white background", "白色背景"), not the new one.
_DESCRIBED_BACKDROP = re.compile(r"(?i)(?P<color>\S+?)(?:的)?\s*(?:背景|底色|\bbackground\b|\bbackdrop\b)")


def _removal_color(text: str) -> str | None:
    """The colour a removed background becomes, when one is named: "去掉背景（白底）",
    "remove the background, white". A colour describing the old backdrop does not count."""
    for match in _DESCRIBED_BACKDROP.finditer(text):
        described = find_color(match.group("color"))
        if described is not None and described.end() == len(match.group("color")):
            text = text[: match.start()] + " " + text[match.end() :]
            break
    found = find_color(text)
    return canonical_color(found.group(0)) if found else None


def parse_background(clause: Clause) -> list[Background | Generative] | None:
    """A background change: blur, a solid colour, a transparent cut-out, or a new scene
    (generative). "Remove the background" is a cut-out (alpha in PNG/WebP, white in a JPEG);
    with a colour ("去掉背景（白底）") it is that colour."""
    text, source = clause.rest, clause.source
    if _CUT_OUT.search(text) and not _BLUR.search(text):
        return [Background(mode="transparent", source=source)]
    if not _BACKGROUND.search(text):
        return None
    if _BLUR.search(text):
        return [Background(mode="blur", source=source)]
    if _TRANSPARENT.search(text):
        return [Background(mode="transparent", source=source)]
    if REMOVE_VERB.search(text):
        color = _removal_color(text)
        if color is None:
            return [Background(mode="transparent", source=source)]
        return [Background(mode="solid", color=color, source=source)]
    for pattern, scene_allowed in (
        (_BG_ZH_CHANGE, True),
        (_BG_ZH_NOUN, True),
        (_BG_EN_CHANGE, True),
        (_BG_EN_MAKE, False),
        (_BG_EN_NOUN, True),
    ):
        match = pattern.search(text)
        if match is None:
            continue
        color = color_only(match.group("what"))
        if color:
            return [Background(mode="solid", color=color, source=source)]
        if scene_allowed:
            # A new scene ("海滩", "a beach at sunset") is generative: only qwen can paint it.
            return [Generative(description=source, source=source)]
    return None


# -- recolour --------------------------------------------------------------------------------

_ZH_RECOLOR = re.compile(
    r"^(?:先|再|请|帮我)*(?:把|将|给)?(?P<obj>.*?)"
    r"(?:换成|改成|变成|染成|调成|改为|换为|变为|涂成|刷成|漆成|替换成|替换为|改换成)(?P<to>.+)$"
)
_EN_RECOLOR_TO = re.compile(
    r"(?i)^(?:please\s+)?(?:change|turn|switch|recolou?r|paint|colou?r|dye|make|set)\s+(?P<obj>.+?)\s+"
    r"(?:to|into|in|with)\s+(?P<to>.+)$"
)
_EN_RECOLOR_MAKE = re.compile(
    r"(?i)^(?:please\s+)?(?:make|turn|paint|colou?r|dye)\s+(?P<obj>.+?)\s+(?P<to>\S+(?:[\s-]\S+)?)$"
)
_EN_REPLACE = re.compile(r"(?i)^(?:please\s+)?replace\s+(?P<obj>.+?)\s+with\s+(?P<to>.+)$")
_OBJECT_NOISE = re.compile(
    r"(?i)\bthe\s+colou?rs?\s+of\b|'s\s+colou?rs?\b|\bcolou?rs?\b|\b(?:the|a|an|all|every|its|it|this|that)\b"
    r"|\b(?:image|photo|picture)\b|的颜色|颜色|身上的|上的|里的|中的"
)


def _target_and_color(obj: str, quotes: list[str]) -> tuple[str, str | None]:
    """Split "the red car" into ("car", "red") and "红色连衣裙" into ("连衣裙", "red"); quoted
    text comes back as written ("the text 'SALE'")."""
    color_match = find_color(obj)
    color = canonical_color(color_match.group(0)) if color_match else None
    if color_match:
        obj = obj[: color_match.start()] + " " + obj[color_match.end() :]
    target = _OBJECT_NOISE.sub(" ", obj)
    target = re.sub(r"^[的\s]+|[的\s]+$", "", " ".join(target.split()))
    target = re.sub(r"^色的?|^色$", "", target).strip()
    for quote in quotes:
        target = target.replace(PLACEHOLDER, f"'{quote}'", 1)
    return target, color


def parse_recolor(clause: Clause) -> list[Recolor] | None:
    """A recolour whose new colour is only a colour: "把红色连衣裙换成蓝色", "make the red car green".

    "换成蓝色长袖衬衫" names a new garment, not a colour, so it is left to the generative rule.
    """
    text, place, source = clause.rest, clause.place, clause.source
    candidates: list[tuple[str, str]] = []
    for pattern in (_ZH_RECOLOR, _EN_RECOLOR_TO, _EN_REPLACE):
        match = pattern.search(text)
        if match:
            candidates.append((match.group("obj"), match.group("to")))
    make = _EN_RECOLOR_MAKE.search(text)
    if make:
        words = text.split()
        # "make the car light blue": try the last two words as the colour, then the last one.
        for size in (2, 1):
            if len(words) > size + 1:
                candidates.append((" ".join(words[1:-size]), " ".join(words[-size:])))
    for obj, to in candidates:
        to_color = color_only(to)
        if to_color is None:
            continue
        target, from_color = _target_and_color(obj, clause.quotes)
        return [Recolor(target=target, from_color=from_color, to_color=to_color, place=place, source=source)]
    return None


# -- remove ----------------------------------------------------------------------------------

_ZH_REMOVE_BEFORE = re.compile(
    r"^(?:先|再|请|帮我)*(?:把|将)(?P<obj>.+?)(?:给)?(?:去掉|去除|删除|删掉|移除|擦掉|擦除|抹掉|抹去|清除|拿掉|消除)"
)


def parse_remove(clause: Clause) -> list[Remove] | None:
    """Removing a thing found by colour and/or place: "去掉右边的红色物体", "erase the logo in the top left".

    With neither a colour nor a place ("remove the man") it is still a removal, which the classic
    engine refuses asking for the colour or the place, and qwen can do.
    """
    text, place, source = clause.rest, clause.place, clause.source
    verb = REMOVE_VERB.search(text)
    if verb is None:
        return None
    before = _ZH_REMOVE_BEFORE.search(text)
    obj = before.group("obj") if before else text[verb.end() :]
    target, color = _target_and_color(obj, clause.quotes)
    if not target and color is None and place is None and not PRICE_TAG.search(text):
        raise IncompleteEdit(
            "Say what to remove: its colour, its place or the text, e.g. 'remove the red sticker in the "
            "bottom right' or 'remove the watermark'.",
            "请说明要去掉什么：颜色、位置或文字，例如“去掉右下角的红色贴纸”或“去掉水印”。",
            ["remove the red sticker in the bottom right", "remove the watermark"],
            ["去掉右下角的红色贴纸", "去掉水印"],
        )
    # A thing named without colour or place ("remove the mug", "去掉那个人") is still a removal:
    # the classic engine answers that it needs its colour or place (it cannot find things by
    # name), instead of calling a removal "new content to paint"; qwen takes it in auto mode.
    return [Remove(target=target, color=color, place=place, source=source)]
