"""Purpose clauses: "用于淘宝主图", "for an Amazon listing" name a marketplace, and a marketplace
names a size, an aspect and sometimes a backdrop.

A purpose is not an edit on its own, so it is taken out of the instruction before the clauses
are split, and its preset fills in what the other clauses left open: a square canvas (padded
with the backdrop, so the product is never cut), the marketplace's size, and a white backdrop
where the marketplace requires one (Amazon and JD main images). What the user asked for
explicitly wins: "裁剪成1:1，用于淘宝主图" crops (no padding), then resizes to 800x800.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.plan import Background, Operation, Pad, Resize


@dataclass(frozen=True)
class Marketplace:
    """A marketplace's main-image rules: the size its listings show best, and its backdrop."""

    name: str
    words: str  # a regex alternative of the names users write, both languages
    width: int
    height: int
    backdrop: str | None = None  # a colour the main image must have behind the product

    @property
    def aspect(self) -> str:
        divisor = _gcd(self.width, self.height)
        return f"{self.width // divisor}:{self.height // divisor}"


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


# Sizes are the platforms' published main-image recommendations (square, large enough to zoom).
MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("taobao", r"淘宝|\btaobao\b", 800, 800),
    Marketplace("tmall", r"天猫|\btmall\b", 800, 800),
    Marketplace("jd", r"京东|\bjd(?:\.com)?\b", 800, 800, backdrop="white"),
    Marketplace("pinduoduo", r"拼多多|\bpinduoduo\b|\bpdd\b", 750, 750),
    Marketplace("xiaohongshu", r"小红书|\bxiaohongshu\b|\bred\s*note\b", 1080, 1440),
    Marketplace("douyin", r"抖音|\bdouyin\b|\btiktok\b", 1080, 1920),
    Marketplace("amazon", r"亚马逊|\bamazon\b", 2000, 2000, backdrop="white"),
    Marketplace("ebay", r"\bebay\b", 1600, 1600),
    Marketplace("shopify", r"\bshopify\b", 2048, 2048),
    Marketplace("etsy", r"\betsy\b", 2000, 2000),
    Marketplace("instagram", r"\binstagram\b|\binsta\b|\big\b", 1080, 1080),
)

_NAMES = "|".join(f"(?P<m{index}>{market.words})" for index, market in enumerate(MARKETPLACES))
_ZH_LEAD = (
    r"(?:用于|用作|用在|用来做|做成|作为|当作|适合|适用于|适配|符合|按照?|给|上传到?|发到?|发布到?|放到?)"
)
_EN_LEAD = r"(?:for|as|to\s+fit|fit\s+for|suitable\s+for|ready\s+for|to\s+use\s+(?:on|for)|on)"
_KIND = (
    r"(?:\s+(?:main\s+)?(?:listing|product\s+(?:image|photo|listing|page)|main\s+image|image|photo|store|shop"
    r"|post|spec(?:ification)?s?|requirements?)\b)"
    r"|(?:的)?(?:商品)?(?:主图|首图|白底图|商品图|详情图|详情页|头图|封面|图片|图|店铺|平台|规格|要求|标准)?"
)
_PURPOSE = re.compile(
    rf"(?i)[，,；;]?\s*(?:{_ZH_LEAD}|\b{_EN_LEAD}\s+(?:an?\s+|the\s+|my\s+)?)\s*(?:{_NAMES})(?:{_KIND})",
)


def take_purpose(instruction: str) -> tuple[Marketplace | None, str]:
    """The marketplace an instruction names as its purpose, and the instruction without that phrase."""
    match = _PURPOSE.search(instruction)
    if match is None:
        return None, instruction
    market = next(
        MARKETPLACES[index] for index in range(len(MARKETPLACES)) if match.group(f"m{index}") is not None
    )
    rest = (instruction[: match.start()] + " " + instruction[match.end() :]).strip(" ，,；;。.")
    return market, rest


def purpose_operations(market: Marketplace, asked: list[Operation], source: str) -> list[Operation]:
    """What ``market`` adds to the operations the user ``asked`` for: only what they left open."""
    kinds = {op.op for op in asked}
    added: list[Operation] = []
    if market.backdrop and "background" not in kinds:
        added.append(Background(mode="solid", color=market.backdrop, source=source, implied=True))
    shaped = any(op.op == "pad" or (op.op == "crop" and getattr(op, "aspect", None)) for op in asked)
    if not shaped:
        added.append(Pad(aspect=market.aspect, color=market.backdrop, source=source, implied=True))
    if "resize" not in kinds:
        added.append(Resize(width=market.width, height=market.height, source=source, implied=True))
    return added
