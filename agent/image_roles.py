"""Multi-image edits: which image is edited and which others it borrows from.

"put the logo from the second image on the first", "把第二张图里的logo放到第一张上", "use the
style of the first photo on the second", "combine the two photos": the engine takes the edited
image as Picture 1 and up to two references as Picture 2 and 3, so the words that named images
must become those roles, and the instruction must say "Picture N" (the wording the qwen model was
trained on). The image named after "on"/"to"/"到"/"在" is the one edited; one named after
"from"/"of" or before "的"/"里的" is a reference; otherwise the first named is edited.

"the other one" or "the two photos" with more images than they can mean is not guessed: the
result carries the candidates so the agent asks, as it does for objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.references import _EN_ORD, _IMAGE_EN, _IMAGE_ZH, _THIS_IMAGE, SessionView, _number
from agent.replies import language_of
from sessions import ImageInfo

#: References the engine accepts besides the edited image (Picture 2 and Picture 3).
MAX_REFERENCES = 2

#: "on the first", "from the second": an ordinal without a noun, after a preposition only, so
#: "make the first letter red" is not an image.
_BARE_EN = re.compile(
    r"(?:(?<=\bon )|(?<=\bonto )|(?<=\bto )|(?<=\binto )|(?<=\bfrom )|(?<=\bof )|(?<=\band ))"
    r"the\s+(first|second|third|fourth|fifth|1st|2nd|3rd|4th)\b(?!\s+(?:image|photo|picture|one)s?\b)",
    re.IGNORECASE,
)
_OTHER = re.compile(r"\bthe\s+other\s+(?:one|image|photo|picture)\b|另外?一张(?:图片?|照片)?", re.IGNORECASE)
_PAIR = re.compile(
    r"\b(?:the\s+two|both(?:\s+the)?)\s+(?:images|photos|pictures)\b|\bboth\s+of\s+them\b"
    r"|这?两张(?:图片?|照片|图像)?",
    re.IGNORECASE,
)
_SOURCE_BEFORE_EN = re.compile(r"\b(?:from|of)\s+$", re.IGNORECASE)
_TARGET_BEFORE_EN = re.compile(r"\b(?:on|onto|to|into)\s+$", re.IGNORECASE)
_SOURCE_AFTER_ZH = re.compile(r"^(?:里面|里|中|上)?的")
_TARGET_BEFORE_ZH = re.compile(r"(?:到|在|给|至|处理|改)$")
_FROM_BEFORE_EN = re.compile(r"\bfrom\s+$", re.IGNORECASE)
#: "starting from the second image" chooses where an edit starts, not a reference.
_START_FROM = re.compile(r"\b(?:start(?:ing)?|based)\s+(?:from|on)\s+$", re.IGNORECASE)


@dataclass
class _Mention:
    start: int
    end: int
    images: list[ImageInfo]
    role: str  # "source" | "target" | "neutral"


@dataclass
class ImageRoles:
    """The edited image, its references (Picture 2, 3) and the instruction in Picture-N words;
    or, when a phrase could mean several images, the question to ask."""

    instruction: str
    target: ImageInfo | None = None
    references: list[ImageInfo] = field(default_factory=list)
    #: Set when the text must be clarified: the phrase to replace, how many images it names,
    #: and the images it may mean.
    span: tuple[int, int] | None = None
    needed: int = 0
    candidates: list[ImageInfo] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        return self.span is not None


def find_image_roles(text: str, view: SessionView) -> ImageRoles | None:
    """The roles of the images ``text`` names, or None when it is a single-image edit."""
    if len(view.images) < 2:
        return None
    by_pos = {image.position: image for image in view.images}
    mentions = _named(text, by_pos, view)
    named = {image.id for m in mentions for image in m.images}
    for match in _OTHER.finditer(text):
        rest = [i for i in view.images if i.id not in named]
        if not named and view.active is not None:
            rest = [i for i in rest if i.id != view.active.id]
        if len(rest) != 1:
            return ImageRoles(text, span=match.span(), needed=1, candidates=rest or view.images)
        mentions.append(_Mention(*match.span(), rest, _role(text, *match.span())))
    for match in _PAIR.finditer(text):
        if len(view.images) != 2:
            return ImageRoles(text, span=match.span(), needed=2, candidates=view.images)
        mentions.append(_Mention(*match.span(), list(view.images), "neutral"))
    mentions.sort(key=lambda m: m.start)
    distinct = {image.id for m in mentions for image in m.images}
    implicit_target = None
    if len(distinct) < 2:
        # "put the logo from image 2 on it": a source named with "from", the active image edited.
        # Only "from": "把第一张图的连衣裙换成蓝色" and "the dress of image 1" name the image edited.
        only = mentions[0] if len(mentions) == 1 else None
        active = view.active
        if only is None or active is None or active.id in distinct:
            return None
        before = text[: only.start]
        if not _FROM_BEFORE_EN.search(before) or _START_FROM.search(before):
            return None
        implicit_target = active
    return _assign(text, mentions, implicit_target)


def _named(text: str, by_pos: dict[int, ImageInfo], view: SessionView) -> list[_Mention]:
    found: list[_Mention] = []
    for match in _IMAGE_ZH.finditer(text):
        image = by_pos.get(_number(match.group(1) or match.group(2)))
        if image is not None:
            found.append(_Mention(*match.span(), [image], _role(text, *match.span())))
    for pattern in (_IMAGE_EN, _BARE_EN):
        for match in pattern.finditer(text):
            word = match.group(1)
            pos = _EN_ORD.get(word.lower(), 0) if word else int(match.group(2))
            if pos in by_pos:
                found.append(_Mention(*match.span(), [by_pos[pos]], _role(text, *match.span())))
    if view.active is not None:
        for match in _THIS_IMAGE.finditer(text):
            found.append(_Mention(*match.span(), [view.active], _role(text, *match.span())))
    return found


def _role(text: str, start: int, end: int) -> str:
    before, after = text[:start], text[end:]
    if _TARGET_BEFORE_EN.search(before) or _TARGET_BEFORE_ZH.search(before):
        return "target"
    if _SOURCE_BEFORE_EN.search(before) or _SOURCE_AFTER_ZH.match(after):
        return "source"
    return "neutral"


def _assign(text: str, mentions: list[_Mention], implicit_target: ImageInfo | None) -> ImageRoles | None:
    slots = [(image, m.role) for m in mentions for image in m.images]
    sources = {image.id for image, role in slots if role == "source"}
    target = (
        implicit_target
        or next((image for image, role in slots if role == "target"), None)
        or next((image for image, role in slots if role == "neutral" and image.id not in sources), None)
        or slots[0][0]
    )
    references: list[ImageInfo] = []
    for image, _ in slots:
        if image.id != target.id and all(image.id != r.id for r in references):
            references.append(image)
    if not references:
        return None
    references = references[:MAX_REFERENCES]
    pictures = {target.id: 1, **{image.id: n for n, image in enumerate(references, 2)}}
    zh = language_of(text) == "zh"
    out = text
    for mention in sorted(mentions, key=lambda m: m.start, reverse=True):
        names = [f"Picture {pictures[i.id]}" for i in mention.images if i.id in pictures]
        words = ("和" if zh else " and ").join(names)
        out = out[: mention.start] + words + out[mention.end :]
    out = re.sub(r"\s{2,}", " ", out).strip()
    return ImageRoles(out[:1].upper() + out[1:], target=target, references=references)


def answer_images(answer: str, candidates: list[ImageInfo]) -> list[ImageInfo]:
    """The images an answer to "which image?" names: "2", "图3", "the first one", "1 and 3"."""
    by_pos = {image.position: image for image in candidates}
    chosen: list[ImageInfo] = []
    numbers = [_number(n) for n in re.findall(r"\d+|[一二两三四五六七八九十]", answer)]
    numbers += [n for word, n in _EN_ORD.items() if re.search(rf"\b{word}\b", answer, re.IGNORECASE)]
    for number in numbers:
        image = by_pos.get(number)
        if image is not None and image not in chosen:
            chosen.append(image)
    return chosen


def name_images(images: list[ImageInfo], language: str) -> str:
    """Words that name ``images`` the way the resolver reads them back ("image 2", "图2和图3")."""
    if language == "zh":
        return "和".join(f"图{image.position}" for image in images)
    return " and ".join(f"image {image.position}" for image in images)
