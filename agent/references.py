"""Reference resolution, bilingual: what "it", "那件衣服", "the original", "第二张" point at.

Given the user's words and a snapshot of the session (images, versions, entities), it finds the
image, the version to start from and the object the edit is about, and rewrites the instruction
so it names them ("把刚才那件衣服换成条纹款" -> "把蓝色长袖衬衫换成条纹款"). When more than one
known object fits and nothing (like "刚才" / "last") picks one, it returns the candidates so the
agent can ask; it never guesses silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.replies import language_of
from sessions import EntityInfo, ImageInfo, VersionInfo
from tools.lexicon import category_matches, find_nouns

_ZH_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_EN_ORD = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
}
_NUM = r"(\d+|[一二两三四五六七八九十])"

_IMAGE_ZH = re.compile(rf"第{_NUM}张(?:图片?|照片|图像)?|图{_NUM}")
_IMAGE_EN = re.compile(
    r"\b(?:the\s+)?(first|second|third|fourth|fifth|1st|2nd|3rd|4th)\s+(?:image|photo|picture|one)\b|"
    r"\b(?:image|photo|picture)\s+(\d+)\b",
    re.IGNORECASE,
)
_THIS_IMAGE = re.compile(r"\bthis (?:image|photo|picture)\b|这张(?:图片?|照片)?", re.IGNORECASE)
#: Images named relative to the current one: "上一张", "下一张", "the previous image", "the next photo".
_IMAGE_RELATIVE = re.compile(
    # Not after a verb: "贴上一张贴纸" adds a sticker, it does not name the previous image.
    r"(?<![贴加放换画添配印盖挂摆铺补附留剩拍])(?P<zh>[上下前后])一张(?:图片?|照片|图像)?"
    r"|\b(?:the\s+)?(?P<en>previous|next|prior|following)\s+(?:image|photo|picture)\b",
    re.IGNORECASE,
)
_BACKWARD = {"上", "前", "previous", "prior"}

_ORIGINAL = re.compile(
    r"\b(?:the\s+)?original(?:\s+(?:image|photo|picture|version))?\b|原图|原始图片|原始版本|最初的版本|原版"
    r"|最早的版本|最早那版|最早一版|最早的那一?版|\b(?:the\s+)?earliest\s+version\b",
    re.IGNORECASE,
)
_PREVIOUS = re.compile(
    r"\b(?:the\s+)?previous\s+version\b|\bthe\s+(?:version|one)\s+before\b|上一版|上一个版本|上个版本|前一版",
    re.IGNORECASE,
)
_NEXT = re.compile(r"\b(?:the\s+)?next\s+version\b|下一版|下一个版本|下个版本|后一版", re.IGNORECASE)
_VERSION_N = re.compile(rf"\bversion\s+(\d+)\b|\bv(\d+)\b|第{_NUM}版|版本\s*(\d+)", re.IGNORECASE)
#: Every pattern that chooses an image or a version; the planner strips them from an instruction
#: once they are resolved into tool arguments.
#: "The previous version" and "the next version", for the planner's refusals.
PREVIOUS_VERSION = _PREVIOUS
NEXT_VERSION = _NEXT
#: The patterns that choose an image, and those that choose a version.
IMAGE_PATTERNS = (_IMAGE_ZH, _IMAGE_EN, _IMAGE_RELATIVE)
VERSION_PATTERNS = (_ORIGINAL, _PREVIOUS, _NEXT, _VERSION_N)
REFERENCE_PATTERNS = IMAGE_PATTERNS + VERSION_PATTERNS

#: Words that make a noun a reference to something already seen, and pick the most recent one.
_RECENCY = re.compile(
    r"刚才|刚刚|之前|上次|最近|最后|from before|from earlier|earlier|just now|last|latest|most recent"
    r"|you just",
    re.IGNORECASE,
)
#: Demonstratives before a noun ("那件衣服", "that shirt"), kept in the span that gets replaced.
_ZH_PREFIX = re.compile(
    r"(?:(?:刚才|刚刚|之前|上次|最后)的?)?(?:那|这)?(?:一)?(?:件|个|条|顶|双|只|张|款)?(?:的)?$"
)
_EN_PREFIX = re.compile(
    r"\b(?:the|that|this|those|these)\s+(?:same\s+)?(?:piece\s+of\s+)?(?:[\w\-]+\s+){0,3}$", re.IGNORECASE
)
_EN_SUFFIX = re.compile(
    r"^(?:\s+(?:from\s+before|from\s+earlier|you\s+just\s+(?:made|changed|added)|from\s+edit\s+\d+))?",
    re.IGNORECASE,
)
#: A demonstrative ("that badge", "这个标签"): in a removal it means the most recent such thing.
_DEMONSTRATIVE = re.compile(r"\b(?:that|this)\b|那个|这个|那|这", re.IGNORECASE)
#: Quoted words ("'新品上市'", "“SALE”"): in a removal they pick the badge with that text.
_QUOTED = re.compile(r"[\"'“”‘’「」『』]([^\"'“”‘’「」『』]+)[\"'“”‘’「」『』]")
_PRONOUN = re.compile(r"(?<![A-Za-z])(it|that one|this one)(?![A-Za-z])|它|这个|那个", re.IGNORECASE)
#: Where the thing to change ends and what to change it into begins.
_CHANGE_SPLIT = re.compile(
    r"换成|改成|变成|改为|换为|变为|替换成|替换为|\bto\b|\binto\b|\bwith\b", re.IGNORECASE
)


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _ZH_NUM.get(text, 0)


@dataclass
class Candidate:
    entity: EntityInfo
    version: int
    image: int


@dataclass
class Resolution:
    """What the user's words point at, and the instruction rewritten to name it."""

    instruction: str
    image: ImageInfo | None = None
    from_version: VersionInfo | None = None
    entity: EntityInfo | None = None
    candidates: list[Candidate] = field(default_factory=list)
    span: tuple[int, int] | None = None
    #: The object is on another image than the one the user was on: the turn switches to it.
    switched: bool = False

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1 and self.entity is None


@dataclass
class SessionView:
    """The session as the resolver sees it; built from the store once per turn."""

    images: list[ImageInfo]
    active: ImageInfo | None
    heads: dict[str, VersionInfo]
    versions: dict[str, list[VersionInfo]]
    entities: list[EntityInfo]  # most recent first
    version_numbers: dict[str, int]


class ReferenceResolver:
    def __init__(self, view: SessionView) -> None:
        self.view = view

    # -- images and versions ---------------------------------------------------------------

    def find_images(self, text: str) -> list[tuple[int, ImageInfo]]:
        """Images the text names, with where they are named."""
        by_pos = {image.position: image for image in self.view.images}
        found = [(at, by_pos[pos]) for at, pos in self.named_positions(text) if pos in by_pos]
        if self.view.active is not None:
            for match in _THIS_IMAGE.finditer(text):
                found.append((match.start(), self.view.active))
        return sorted(found, key=lambda item: item[0])

    def named_positions(self, text: str) -> list[tuple[int, int]]:
        """Every image position the text names (where, position), in the session or not:
        "第5张" among two images is a position the caller must refuse, not ignore."""
        named: list[tuple[int, int]] = []
        for match in _IMAGE_ZH.finditer(text):
            named.append((match.start(), _number(match.group(1) or match.group(2))))
        for match in _IMAGE_EN.finditer(text):
            word = match.group(1)
            named.append((match.start(), _EN_ORD.get(word.lower(), 0) if word else int(match.group(2))))
        if self.view.active is not None:
            for match in _IMAGE_RELATIVE.finditer(text):
                step = -1 if (match.group("zh") or match.group("en")).lower() in _BACKWARD else 1
                named.append((match.start(), self.view.active.position + step))
        return named

    @staticmethod
    def names_relative_image(text: str) -> bool:
        """True when the text names an image relative to the current one ("上一张", "the next image")."""
        return bool(_IMAGE_RELATIVE.search(text))

    def missing_image(self, text: str) -> int | None:
        """A position the text names that this session has no image at, if any."""
        positions = {image.position for image in self.view.images}
        return next((pos for _, pos in self.named_positions(text) if pos not in positions), None)

    @staticmethod
    def names_version(text: str) -> bool:
        """True when the text names a version ("原图", "上一版", "version 3", "下一版")."""
        return any(pattern.search(text) for pattern in VERSION_PATTERNS)

    def find_version(self, text: str, image: ImageInfo) -> VersionInfo | None:
        versions = self.view.versions.get(image.id, [])
        by_number = {v.number: v for v in versions}
        if _ORIGINAL.search(text):
            return by_number.get(0)
        head = self.view.heads[image.id]
        if _PREVIOUS.search(text):
            return next((v for v in versions if v.id == head.parent_id), None)
        if _NEXT.search(text):
            # The version the last undo left, else the newest edit made from the head.
            if image.redo_stack:
                return next((v for v in versions if v.id == image.redo_stack[-1]), None)
            children = [v for v in versions if v.parent_id == head.id]
            return max(children, key=lambda v: v.number) if children else None
        match = _VERSION_N.search(text)
        if match:
            raw = next(g for g in match.groups() if g)
            return by_number.get(_number(raw))
        return None

    # -- objects ---------------------------------------------------------------------------

    def resolve(
        self,
        text: str,
        *,
        whole_image: bool = False,
        removal: bool = False,
        choose: EntityInfo | None = None,
        choose_span: tuple[int, int] | None = None,
    ) -> Resolution:
        """Resolve ``text``; ``whole_image`` says the edit is global (so "it" means the image);
        ``removal`` says it takes something away ("remove that badge"): things the version being
        edited shows come first, quoted words pick by name and "that" picks the most recent;
        ``choose`` (with the ``choose_span`` it replaces) answers an earlier "which one?"."""
        named = self.find_images(text)
        image = named[-1][1] if named else self.view.active
        if named and len(named) > 1:
            # "put the logo from the second image on the first": the image acted on is the one
            # named after on/到/在; otherwise the first named.
            image = named[0][1]
        resolution = Resolution(instruction=text, image=image)
        if image is None:
            return resolution
        resolution.from_version = self.find_version(text, image)
        if choose is not None:
            return self._substitute(resolution, text, choose, choose_span)
        target_part = _CHANGE_SPLIT.split(text, maxsplit=1)[0]
        nouns = [n for n in find_nouns(target_part) if n.category not in ("text",)]
        lineages: dict[str, set[str]] = {}

        def lineage_of(entity: EntityInfo) -> set[str]:
            """The versions the edit would see on the entity's image: the one being edited on
            this image, the head on another."""
            if entity.image_id not in lineages:
                start = resolution.from_version if entity.image_id == image.id else None
                lineages[entity.image_id] = self.lineage(start or self.view.heads.get(entity.image_id))
            return lineages[entity.image_id]

        for noun in nouns:
            span = self._span(text, noun.start, noun.end)
            phrase = text[span[0] : span[1]]
            recency = bool(_RECENCY.search(phrase) or _RECENCY.search(text))
            pointing = recency or bool(_DEMONSTRATIVE.search(phrase))
            pool = [e for e in self.view.entities if category_matches(noun.category, e.category)]
            # Something an edit in this lineage removed is gone: "that badge" means another one.
            pool = [e for e in pool if e.removed_version_id not in lineage_of(e)]
            shown = [e for e in pool if e.version_id in lineage_of(e)]
            # A plain noun ("the dress") or a named image: what the version being edited shows,
            # on that image only; a word pointing back ("刚才的", "that"): every image.
            here = [e for e in shown if e.image_id == image.id]
            pool = here if named or not pointing else shown or pool
            if removal:
                pool = [e for e in pool if e.version_id in lineage_of(e)] or pool
                quoted = [q.strip() for q in _QUOTED.findall(text) if q.strip()]
                pool = [e for e in pool if any(q in e.name for q in quoted)] or pool
                recency = recency or bool(_DEMONSTRATIVE.search(phrase))
            if not pool:
                continue
            if len(pool) == 1 or recency:
                return self._substitute(resolution, text, pool[0], span)
            resolution.candidates = [self._candidate(e) for e in pool]
            resolution.span = span
            return resolution
        if not whole_image:
            pronoun = _PRONOUN.search(target_part)
            pool = [e for e in self.view.entities if e.image_id == image.id]
            if pronoun and pool:
                return self._substitute(resolution, text, pool[0], (pronoun.start(), pronoun.end()))
        return resolution

    def lineage(self, version: VersionInfo | None) -> set[str]:
        """Ids of ``version`` and the versions it descends from (empty for None)."""
        if version is None:
            return set()
        by_id = {v.id: v for versions in self.view.versions.values() for v in versions}
        ids: set[str] = set()
        current: VersionInfo | None = version
        while current is not None and current.id not in ids:
            ids.add(current.id)
            current = by_id.get(current.parent_id) if current.parent_id else None
        return ids

    def _candidate(self, entity: EntityInfo) -> Candidate:
        image = next(i for i in self.view.images if i.id == entity.image_id)
        return Candidate(entity, self.view.version_numbers.get(entity.version_id, 0), image.position)

    def _span(self, text: str, start: int, end: int) -> tuple[int, int]:
        """The noun phrase around a noun: its demonstratives and modifiers ("刚才那件衣服")."""
        before = text[:start]
        if language_of(text[start:end]) == "zh":
            match = _ZH_PREFIX.search(before)
        else:
            match = _EN_PREFIX.search(before)
        first = match.start() if match and match.group(0) else start
        after = _EN_SUFFIX.match(text[end:])
        last = end + (after.end() if after else 0)
        return first, last

    def _substitute(
        self, resolution: Resolution, text: str, entity: EntityInfo, span: tuple[int, int] | None
    ) -> Resolution:
        resolution.entity = entity
        resolution.candidates = []
        if resolution.image is not None and entity.image_id != resolution.image.id:
            # "that badge" is on another image: the turn works on that image from now on.
            resolution.image = next(i for i in self.view.images if i.id == entity.image_id)
            resolution.from_version = self.find_version(text, resolution.image)
            resolution.switched = True
        if span is not None:
            zh = language_of(text) == "zh"
            name = entity.name if zh else f"the {entity.name}"
            before = text[: span[0]]
            if not zh and before and not before.endswith(" "):
                name = " " + name
            resolution.instruction = before + name + text[span[1] :]
            resolution.span = span
        return resolution

    # -- answers to "which one?" -----------------------------------------------------------

    @staticmethod
    def pick(answer: str, candidates: list[EntityInfo]) -> EntityInfo | None:
        """The candidate an answer names: by number ("2", "第二个", "the second one") or by words."""
        text = answer.strip().lower()
        match = re.search(rf"^\D*?{_NUM}", text)
        index = 0
        if match:
            index = _number(match.group(1))
        else:
            for word, number in _EN_ORD.items():
                if re.search(rf"\b{word}\b", text):
                    index = number
        if 1 <= index <= len(candidates):
            return candidates[index - 1]
        for entity in candidates:
            if entity.name.lower() in text or text in entity.name.lower():
                return entity
        nouns = find_nouns(answer)
        fitting = [e for e in candidates if any(category_matches(n.category, e.category) for n in nouns)]
        return fitting[0] if len(fitting) == 1 else None
