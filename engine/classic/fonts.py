"""Finding a font that can draw the text: CJK text needs a CJK font, and we never draw tofu.

Candidates are the fonts ``make setup`` installs (Debian's ``fonts-noto-cjk``; WenQuanYi as an
alternative), then whatever fontconfig offers for Chinese, then DejaVu for Latin text. A font is
used only if its character map covers every character of the text (checked with fontTools),
so a missing font is a clear error instead of boxes in the picture.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from engine.classic.context import OpContext
from imgedit.errors import BadInputError, EngineError

_KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    # (path, face index in a collection); index 2 of the Noto CJK collections is Simplified Chinese.
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        return _load(self.path, self.index, max(1, int(size)))


@functools.lru_cache(maxsize=64)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


@functools.lru_cache(maxsize=16)
def _charmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith((".ttc", ".otc")):
        font = TTCollection(path, lazy=True).fonts[index]
    else:
        font = TTFont(path, lazy=True)
    cmap = font.getBestCmap() or {}
    return frozenset(cmap)


def _fontconfig_candidates() -> list[tuple[str, int]]:
    """Fonts fontconfig suggests for Chinese text, best first (empty without fontconfig)."""
    if shutil.which("fc-match") is None:
        return []
    try:
        out = subprocess.run(
            ["fc-match", "-s", "-f", "%{file}|%{index}\n", "sans-serif:lang=zh-cn:weight=bold"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found: list[tuple[str, int]] = []
    for row in out.splitlines()[:40]:
        path, _, index = row.partition("|")
        if path and index.isdigit():
            found.append((path, int(index)))
    return found


@functools.lru_cache(maxsize=1)
def _candidates() -> tuple[tuple[str, int], ...]:
    seen: dict[tuple[str, int], None] = {}
    for path, index in (*_KNOWN_FONTS, *_fontconfig_candidates()):
        if Path(path).is_file() and path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
            seen.setdefault((path, index), None)
    return tuple(seen)


def covers(face: FontFace, text: str) -> bool:
    """Whether ``face`` has a glyph for every visible character of ``text``."""
    try:
        charmap = _charmap(face.path, face.index)
    except Exception:  # an unreadable font file is simply not a candidate
        return False
    return all(ord(ch) in charmap for ch in text if not ch.isspace())


def find_font(text: str) -> FontFace:
    """The first installed font that can draw all of ``text``; ``EngineError`` if none can."""
    for path, index in _candidates():
        face = FontFace(path, index)
        if covers(face, text):
            return face
    missing = "".join(sorted({ch for ch in text if not ch.isspace()}))[:20]
    raise EngineError(
        f"No installed font can draw the text '{text}' (characters: {missing}).",
        hint="Install a CJK-capable font, e.g. Debian's fonts-noto-cjk (make setup does this).",
    )


def drawable_font(text: str, ctx: OpContext) -> FontFace:
    """``find_font`` for text the user asked to draw: emoji and symbols no font can draw are the
    user's to change (``bad_input``, in their language), while a missing CJK font stays the
    operator's (``EngineError`` with the package to install)."""
    try:
        return find_font(text)
    except EngineError:
        symbols = "".join(
            ch
            for ch in dict.fromkeys(text)
            if unicodedata.category(ch)[0] in "SC"
            and not any(covers(FontFace(path, index), ch) for path, index in _candidates())
        )
        if not symbols:
            raise
        raise BadInputError(
            ctx.say(
                f"The text '{text}' has characters that cannot be drawn ({symbols}): emoji and special "
                "symbols cannot go into a badge or a label. Use letters, digits or Chinese characters.",
                f"文字“{text}”里有无法绘制的字符（{symbols}）：标签和文字里不能使用表情或特殊符号，"
                "请改用字母、数字或汉字。",
            )
        ) from None
