"""One sentence a person reads after a restyle: "14 pictures restyled, 3 logos and charts kept,
1 vector kept", in the language the user wrote the theme or instruction in.

Counts are of image parts (a picture used on ten slides is one picture); the file's thumbnail,
which no slide shows, is not counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plugins.pptx.restyle import DeckReport
    from plugins.pptx.selection import KeptBecause

#: (why kept, English singular, English plural, Chinese measure word and noun), in reading order.
_KEPT: tuple[tuple[KeptBecause, str, str, str], ...] = (
    ("graphic", "logo or chart", "logos and charts", "个标志和图表"),
    ("vector", "vector", "vectors", "个矢量图"),
    ("small", "small icon", "small icons", "个小图标"),
    ("slides", "picture on other slides", "pictures on other slides", "张其他幻灯片上的图片"),
    ("format", "picture in another format", "pictures in other formats", "张其他格式的图片"),
    ("unreadable", "unreadable picture", "unreadable pictures", "张无法读取的图片"),
)


def summary_text(report: DeckReport) -> str:
    restyled = report.count("edit") if report.dry_run else report.count("edited", "reused", "resumed")
    failed = report.count("failed")
    kept = [(report.kept(because), one, many, zh) for because, one, many, zh in _KEPT]
    colors = len(report.theme_colors)
    if report.language == "zh":
        verb = "将重新设计" if report.dry_run else "已重新设计"
        parts = [f"{verb} {restyled} 张图片" if restyled else "没有图片需要重新设计"]
        kept_zh = "、".join(f"{n} {zh}" for n, _, _, zh in kept if n)
        if kept_zh:
            parts.append(f"保留原样：{kept_zh}")
        if failed:
            parts.append(f"{failed} 张失败")
        if colors:
            parts.append(f"主题配色改了 {colors} 种颜色")
        return "；".join(parts)
    verb = "to restyle" if report.dry_run else "restyled"
    noun = "picture" if restyled == 1 else "pictures"
    words = [f"{restyled} {noun} {verb}" if restyled else f"no picture {verb}"]
    words += [f"{n} {one if n == 1 else many} kept" for n, one, many, _ in kept if n]
    if failed:
        words.append(f"{failed} failed")
    if colors:
        words.append(f"{colors} theme {'colour' if colors == 1 else 'colours'} changed")
    return ", ".join(words)
