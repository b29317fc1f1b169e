"""Colour names in Chinese and English, with RGB values: one table for the parser and the engines.

The parser stores a colour as its canonical English name ("red", "navy"), which
``parse_color`` turns into RGB for the classic engine and which reads naturally in a prompt for
the qwen engine. ``parse_color`` also accepts any listed synonym ("深蓝", "红色"), every CSS colour name
("tomato") and "#rrggbb". Neon colours ("荧光绿") are real neons: full saturation, high lightness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import ImageColor

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class NamedColor:
    name: str
    rgb: RGB
    synonyms: tuple[str, ...]


# Canonical English name, RGB, then every synonym (English and Chinese) that means it.
_TABLE: list[NamedColor] = [
    NamedColor("red", (220, 30, 40), ("红", "红色", "大红", "大红色", "正红")),
    NamedColor("dark red", (139, 0, 0), ("深红", "深红色", "暗红", "暗红色")),
    NamedColor("burgundy", (128, 0, 32), ("wine", "wine red", "酒红", "酒红色", "勃艮第红")),
    NamedColor("crimson", (220, 20, 60), ("scarlet", "绯红", "猩红", "朱红")),
    NamedColor("brick red", (178, 60, 40), ("砖红", "砖红色", "铁锈红")),
    NamedColor("jujube red", (130, 30, 30), ("枣红", "枣红色")),
    NamedColor("rose red", (220, 40, 100), ("玫瑰红", "玫瑰红色")),
    NamedColor("peach", (255, 160, 150), ("桃红", "桃红色", "桃粉", "蜜桃色")),
    NamedColor("orange", (255, 140, 0), ("橙", "橙色", "橘色", "橘黄", "橘黄色", "橙黄")),
    NamedColor("yellow", (250, 215, 30), ("黄", "黄色", "明黄", "明黄色")),
    NamedColor("gold", (212, 175, 55), ("golden", "金", "金色", "金黄", "金黄色")),
    NamedColor("champagne gold", (222, 196, 150), ("champagne", "香槟金", "香槟色", "香槟金色")),
    NamedColor("rose gold", (183, 110, 121), ("玫瑰金", "玫瑰金色")),
    NamedColor("lemon yellow", (255, 244, 79), ("柠檬黄", "柠檬黄色")),
    NamedColor("goose yellow", (255, 241, 150), ("鹅黄", "鹅黄色")),
    NamedColor("mustard", (225, 173, 1), ("mustard yellow", "芥末黄", "芥末黄色", "姜黄", "姜黄色")),
    NamedColor("earth yellow", (200, 160, 80), ("土黄", "土黄色")),
    NamedColor("green", (40, 160, 60), ("绿", "绿色")),
    NamedColor("dark green", (0, 100, 0), ("深绿", "深绿色", "墨绿", "墨绿色")),
    NamedColor("light green", (144, 238, 144), ("浅绿", "浅绿色", "淡绿", "淡绿色")),
    NamedColor("lime", (50, 205, 50), ("lime green", "青柠色", "青柠绿")),
    NamedColor("neon green", (57, 255, 20), ("fluorescent green", "荧光绿", "荧光绿色", "霓虹绿")),
    NamedColor("neon yellow", (223, 255, 17), ("fluorescent yellow", "荧光黄", "荧光黄色", "荧光黄绿")),
    NamedColor("neon pink", (255, 16, 160), ("fluorescent pink", "hot pink neon", "荧光粉", "荧光粉色")),
    NamedColor("neon orange", (255, 95, 31), ("fluorescent orange", "荧光橙", "荧光橙色")),
    NamedColor("army green", (75, 83, 32), ("军绿", "军绿色")),
    NamedColor("emerald", (0, 155, 119), ("翠绿", "翠绿色", "祖母绿")),
    NamedColor("grass green", (90, 160, 40), ("草绿", "草绿色")),
    NamedColor("avocado", (150, 170, 60), ("牛油果绿", "牛油果色")),
    NamedColor("olive", (128, 128, 0), ("olive green", "橄榄绿", "橄榄色")),
    NamedColor("mint", (152, 255, 200), ("mint green", "薄荷绿", "薄荷色")),
    NamedColor("teal", (0, 128, 128), ("蓝绿", "蓝绿色", "青绿", "青绿色", "孔雀绿")),
    NamedColor("cyan", (0, 200, 220), ("aqua", "青", "青色")),
    NamedColor("turquoise", (64, 224, 208), ("湖蓝", "湖蓝色", "绿松石色")),
    NamedColor("blue", (30, 90, 220), ("蓝", "蓝色")),
    NamedColor("light blue", (150, 200, 240), ("浅蓝", "浅蓝色", "淡蓝", "淡蓝色")),
    NamedColor("sky blue", (100, 180, 235), ("天蓝", "天蓝色")),
    NamedColor("dark blue", (0, 30, 120), ("深蓝", "深蓝色")),
    NamedColor("navy", (0, 0, 110), ("navy blue", "藏青", "藏青色", "海军蓝", "藏蓝", "藏蓝色")),
    NamedColor("royal blue", (65, 105, 225), ("宝蓝", "宝蓝色", "宝石蓝")),
    NamedColor("klein blue", (0, 47, 167), ("international klein blue", "克莱因蓝", "克莱因蓝色")),
    NamedColor("tiffany blue", (129, 216, 208), ("蒂芙尼蓝", "蒂芙尼蓝色")),
    NamedColor("haze blue", (120, 140, 160), ("雾霾蓝", "灰蓝", "灰蓝色")),
    NamedColor("denim", (21, 96, 189), ("denim blue", "牛仔蓝")),
    NamedColor("peacock blue", (0, 110, 140), ("孔雀蓝",)),
    NamedColor("indigo", (75, 0, 130), ("靛蓝", "靛青", "靛蓝色")),
    NamedColor("purple", (128, 50, 160), ("violet", "紫", "紫色")),
    NamedColor("lavender", (200, 170, 230), ("薰衣草紫", "淡紫", "淡紫色", "浅紫", "浅紫色")),
    NamedColor(
        "magenta",
        (220, 0, 140),
        ("fuchsia", "洋红", "洋红色", "品红", "品红色", "紫红", "紫红色", "玫红", "玫红色"),
    ),
    NamedColor("pink", (255, 150, 190), ("粉", "粉色", "粉红", "粉红色", "粉嫩")),
    NamedColor("sakura pink", (255, 183, 197), ("樱花粉", "樱花粉色")),
    NamedColor("nude pink", (225, 170, 160), ("裸粉", "裸粉色", "藕粉", "藕粉色")),
    NamedColor("bean paste", (190, 130, 120), ("豆沙色", "豆沙红", "豆沙粉")),
    NamedColor("coral", (255, 127, 80), ("珊瑚色", "珊瑚红", "珊瑚粉")),
    NamedColor("brown", (120, 72, 36), ("棕", "棕色", "褐色", "咖啡色", "咖色")),
    NamedColor("chocolate brown", (90, 50, 30), ("巧克力色", "深咖", "深咖色")),
    NamedColor("caramel", (190, 120, 50), ("焦糖色", "焦糖")),
    NamedColor("milk tea", (200, 165, 130), ("奶茶色",)),
    NamedColor("oatmeal", (215, 200, 175), ("燕麦色",)),
    NamedColor("tan", (210, 180, 140), ("驼色", "浅棕", "浅棕色")),
    NamedColor("khaki", (195, 176, 145), ("卡其", "卡其色")),
    NamedColor("beige", (225, 210, 180), ("米色", "米黄", "米黄色", "杏色")),
    NamedColor("cream", (255, 248, 220), ("奶油色", "奶白", "奶白色", "米白", "米白色")),
    NamedColor("ivory", (255, 255, 240), ("象牙白", "象牙色")),
    NamedColor("pearl white", (245, 242, 235), ("珍珠白", "乳白", "乳白色")),
    NamedColor("white", (255, 255, 255), ("白", "白色", "纯白", "纯白色", "雪白")),
    NamedColor("light gray", (200, 200, 200), ("light grey", "浅灰", "浅灰色", "淡灰", "淡灰色")),
    NamedColor("gray", (128, 128, 128), ("grey", "灰", "灰色")),
    NamedColor(
        "dark gray", (64, 64, 64), ("dark grey", "charcoal", "深灰", "深灰色", "炭灰", "铁灰", "烟灰")
    ),
    NamedColor("silver", (192, 192, 192), ("银", "银色", "银灰", "银灰色")),
    NamedColor("black", (0, 0, 0), ("黑", "黑色", "纯黑", "纯黑色")),
]

#: CSS colour names that are first of all things in a photo ("remove the tomato", "add snow"):
#: read as colours they would turn an object's name into a colour mask.
_CSS_NOUNS = frozenset({"snow", "linen", "peru", "tomato", "salmon", "plum", "orchid", "wheat", "chocolate"})


def _css_colors(listed: list[NamedColor]) -> list[NamedColor]:
    """The CSS named colours ("crimson", "slateblue") the table does not list already: Pillow's
    table, read once, so every name a web designer types works without copying 140 rows here."""
    known = {word.casefold().replace(" ", "") for color in listed for word in (color.name, *color.synonyms)}
    extra = []
    for name, value in ImageColor.colormap.items():
        if (
            name in _CSS_NOUNS
            or name.casefold() in known
            or not isinstance(value, str)
            or not value.startswith("#")
        ):
            continue
        digits = value.lstrip("#")
        extra.append(NamedColor(name, (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)), ()))
    return extra


#: Every accepted colour word (canonical names and synonyms, both languages) -> canonical name.
COLOR_NAMES: dict[str, str] = {}
#: Canonical name -> RGB.
COLOR_RGB: dict[str, RGB] = {}
for _color in [*_TABLE, *_css_colors(_TABLE)]:
    COLOR_RGB[_color.name] = _color.rgb
    for _word in (_color.name, *_color.synonyms):
        COLOR_NAMES[_word.casefold()] = _color.name

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


#: Canonical name -> its first Chinese name, for messages to Chinese-speaking users.
_CHINESE_NAMES: dict[str, str] = {
    color.name: next(word for word in color.synonyms if not word.isascii())
    for color in _TABLE
    if any(not word.isascii() for word in color.synonyms)
}


def color_label(name: str, zh: bool) -> str:
    """How to name a colour to the user: "红色" for a Chinese speaker, "red" otherwise."""
    canonical = canonical_color(name) or name
    if not zh:
        return canonical
    chinese = _CHINESE_NAMES.get(canonical, name)
    return chinese if chinese.endswith("色") or len(chinese) > 2 else f"{chinese}色"


def canonical_color(name: str) -> str | None:
    """The canonical English name for a colour word ("深蓝" -> "dark blue"), or ``None``."""
    key = " ".join(name.casefold().replace("-", " ").split())
    return COLOR_NAMES.get(key)


def parse_color(name: str) -> RGB | None:
    """RGB for a colour name in either language, or for '#rrggbb' / '#rgb'; ``None`` if unknown."""
    text = name.strip()
    match = _HEX.match(text)
    if match and (text.startswith("#") or canonical_color(text) is None):
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    canonical = canonical_color(text)
    return COLOR_RGB[canonical] if canonical else None


def _color_pattern() -> re.Pattern[str]:
    """One regex for any colour word; longest first so "深蓝色" wins over "蓝"."""
    alternatives = []
    for word in sorted(COLOR_NAMES, key=len, reverse=True):
        escaped = re.escape(word).replace(r"\ ", r"[\s-]+")
        # English words need word boundaries ("red" is not in "bored"); Chinese has none.
        alternatives.append(rf"\b{escaped}\b" if word.isascii() else escaped)
    return re.compile("|".join(alternatives), re.IGNORECASE)


COLOR_PATTERN = _color_pattern()


def find_color(text: str) -> re.Match[str] | None:
    """The first colour word in ``text``."""
    return COLOR_PATTERN.search(text)


_LEADING_FILLER = re.compile(r"^(?:(?:a|an|the|plain|solid|pure|bright)\s+|[纯全一个种]+)+", re.IGNORECASE)
_TRAILING_FILLER = re.compile(
    r"(?:\s+(?:colou?r(?:ed)?|one|tone|shade|instead)|的颜色|颜色|的|了|吧|一点|一些|[。.!！,，\s])+$",
    re.IGNORECASE,
)


def color_only(text: str) -> str | None:
    """The canonical colour when ``text`` is nothing but a colour ("纯白色的", "a solid white"), else None."""
    cleaned = _TRAILING_FILLER.sub("", _LEADING_FILLER.sub("", text.strip())).strip()
    if not cleaned:
        return None
    return canonical_color(cleaned) or (canonical_color(cleaned[:-1]) if cleaned.endswith("色") else None)
