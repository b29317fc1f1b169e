"""The bilingual object lexicon: which words name which kind of thing.

Categories are paths ("clothing/shirt"); a general word maps to a prefix ("衣服", "clothes" ->
"clothing"), so "that piece of clothing" matches a registered shirt or dress. The entity
extractor uses it to file what an edit named, and the reference resolver to match what the
user points at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: category -> words (Chinese and English). Longer words win over the words they contain.
LEXICON: dict[str, tuple[str, ...]] = {
    "clothing": ("衣服", "衣物", "服装", "衣裳", "clothing", "clothes", "outfit", "garment"),
    "clothing/top": ("上衣", "top"),
    "clothing/shirt": ("衬衫", "衬衣", "长袖衬衫", "短袖衬衫", "shirt", "blouse"),
    "clothing/t-shirt": ("T恤", "t恤", "体恤", "t-shirt", "tee", "tshirt"),
    "clothing/dress": ("连衣裙", "裙子", "长裙", "dress", "gown"),
    "clothing/skirt": ("半身裙", "短裙", "skirt"),
    "clothing/jacket": ("夹克", "外套", "大衣", "jacket", "coat"),
    "clothing/sweater": ("毛衣", "卫衣", "sweater", "hoodie", "jumper"),
    "clothing/pants": ("裤子", "长裤", "牛仔裤", "pants", "trousers", "jeans"),
    "clothing/hat": ("帽子", "hat", "cap"),
    "clothing/shoes": ("鞋子", "鞋", "运动鞋", "shoes", "sneakers", "boots"),
    "clothing/tie": ("领带", "tie"),
    "accessory/bag": ("包包", "手提包", "背包", "bag", "handbag", "backpack"),
    "accessory/glasses": ("眼镜", "墨镜", "glasses", "sunglasses"),
    "graphic/logo": ("logo", "标志", "商标", "徽标"),
    "graphic/badge": ("徽章", "角标", "标签", "badge", "label", "sticker"),
    "text": ("文字", "文本", "标题", "标语", "字", "text", "title", "caption", "slogan", "headline", "words"),
    "background": ("背景", "background", "backdrop"),
    "person": ("人物", "人", "模特", "person", "model", "man", "woman"),
    "person/hair": ("头发", "发型", "hair", "hairstyle"),
    "vehicle/car": ("汽车", "车", "car"),
    "animal/cat": ("猫", "cat"),
    "animal/dog": ("狗", "dog"),
    "object/cup": ("咖啡杯", "杯子", "cup", "mug"),
    "object/flower": ("花", "flower", "flowers"),
    "object/sky": ("天空", "sky"),
}

_ASCII = re.compile(r"^[a-z0-9\- ]+$")


def _word_pattern(word: str) -> re.Pattern[str]:
    """An English word matches whole words only ("cat" not in "category"); a Chinese one anywhere."""
    if _ASCII.match(word):
        return re.compile(rf"(?<![a-z]){re.escape(word)}(?![a-z])")
    return re.compile(re.escape(word))


#: Every lexicon word's pattern and category, longest word first; compiled once, not per call.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (_word_pattern(word), category)
    for word, category in sorted(
        ((word.lower(), category) for category, words in LEXICON.items() for word in words),
        key=lambda item: -len(item[0]),
    )
]


@dataclass(frozen=True)
class NounMatch:
    word: str
    category: str
    start: int
    end: int


def find_nouns(text: str) -> list[NounMatch]:
    """Lexicon words in ``text``, longest first where they overlap, in text order."""
    lowered = text.lower()
    taken = [False] * len(lowered)
    found: list[NounMatch] = []
    for pattern, category in _PATTERNS:
        for match in pattern.finditer(lowered):
            if any(taken[match.start() : match.end()]):
                continue
            for i in range(match.start(), match.end()):
                taken[i] = True
            found.append(NounMatch(text[match.start() : match.end()], category, match.start(), match.end()))
    return sorted(found, key=lambda m: m.start)


def category_of(text: str) -> str:
    """The most specific category a phrase names ("蓝色长袖衬衫" -> "clothing/shirt"), or ""."""
    nouns = find_nouns(text)
    if not nouns:
        return ""
    # The head noun of a noun phrase comes last in both languages ("blue long-sleeve shirt").
    return max(
        nouns, key=lambda m: (m.end, m.category.count("/")) if m.category != "text" else (-1, 0)
    ).category


def category_matches(query: str, category: str) -> bool:
    """True when ``category`` is ``query`` or one of its kinds (clothing matches clothing/shirt)."""
    if not query or not category:
        return False
    return category == query or category.startswith(query + "/")
