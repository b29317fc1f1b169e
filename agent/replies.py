"""The planner's replies, in the user's language, saying what was resolved and what was done.

Built from the tools' outcomes only, so the reply never claims more than happened:
"I changed the blue long-sleeve shirt from edit 2 to stripes" / "已将第2次编辑中的蓝色长袖衬衫换成条纹款".
"""

from __future__ import annotations

import re
from typing import Any

from agent.edit_phrases import Subject, edit_phrases, join_phrases
from engine.parsing.language import detect_language


def language_of(text: str) -> str:
    """The language to reply in: "zh" when the text has any Chinese in it, else "en"."""
    return "en" if detect_language(text or "") == "en" else "zh"


def written_in_chinese(text: str) -> bool:
    """True for a Chinese sentence: it has Chinese and no English phrase (three English words in
    a row), unlike an English message that quotes a Chinese instruction."""
    return language_of(text) == "zh" and not _ENGLISH_PHRASE.search(text)


_ENGLISH_PHRASE = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+")


def _where_zh(version: int) -> str:
    return "原图中的" if version == 0 else f"第{version}次编辑中的"


def _where_en(version: int) -> str:
    return " from the original" if version == 0 else f" from edit {version}"


def describe_edit(outcome: dict[str, Any], language: str, operations: list[dict[str, Any]]) -> str:
    """One sentence saying what the edit did, from the plan's ``operations`` (one template per
    operation), naming the resolved object and where it came from."""
    data = outcome.get("data") or {}
    entity = data.get("entity")
    subject = Subject(entity["name"], entity["version"]) if entity else None
    created = [e["name"] for e in data.get("entities") or []]
    phrases = edit_phrases(operations, language, subject, created[0] if created else None)
    what = join_phrases(phrases, language)
    if language == "zh":
        tail = f"（图{outcome['image']}，第{outcome['version']}版，基于第{outcome['parent_version']}版"
        return f"已{what}{tail}{_references_zh(outcome)}）。"
    return (
        f"I {what} (image {outcome['image']}, version {outcome['version']}, "
        f"from version {outcome['parent_version']}{_references_en(outcome)})."
    )


def _references(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    return list((outcome.get("data") or {}).get("references") or [])


def _references_en(outcome: dict[str, Any]) -> str:
    """ "; Picture 2 = image 2, version 0": which image and version each reference was."""
    return "".join(
        f"; Picture {r['picture']} = image {r['image']}, version {r['version']}" for r in _references(outcome)
    )


def _references_zh(outcome: dict[str, Any]) -> str:
    return "".join(
        f"；Picture {r['picture']} = 图{r['image']}第{r['version']}版" for r in _references(outcome)
    )


#: Why a step failed, in Chinese, by error code: the tools' and engines' messages are English
#: unless the parser wrote them for a Chinese instruction.
_ZH_REASONS = {
    "unsupported_operation": "classic 引擎做不了这种修改，需要 qwen 引擎。请把 IMGEDIT_QWEN_MODEL "
    "设为本地的 Qwen-Image-Edit-2509 模型目录，并使用 --engine qwen（或 auto）",
    "edit_area_exceeded": "这次修改改动的面积超过了允许的上限（IMGEDIT_MAX_EDIT_AREA）",
    "unsafe_content": "结果没有通过内容安全检查",
    "not_found": "没有找到要用的图片、版本或对象，可以说“看看历史版本”查看现有版本",
    "image_too_large": "图片太大，无法处理",
    "cancelled": "这一步被取消了",
    "engine_error": "引擎运行出错",
    "skipped": "前面的步骤没有完成，所以没有执行",
}


def describe_failure(outcome: dict[str, Any], language: str) -> str:
    """Why a step could not be done, in the user's language; no version was made."""
    error = outcome.get("error") or {}
    if error.get("needs") == "qwen" and error.get("references"):
        return _needs_qwen(error["references"], language)
    message = error.get("message") or outcome.get("message", "")
    hint = error.get("hint")
    suggestions = error.get("suggestions")
    if language == "zh":
        if written_in_chinese(message):
            text = f"这一步没能完成：{message.rstrip('。')}。"
            if hint and written_in_chinese(hint):
                text += f"提示：{hint.rstrip('。')}。"
        else:
            reason = _ZH_REASONS.get(error.get("code", ""), "这个要求和当前的图片或版本对不上")
            text = f"这一步没能完成：{reason}。"
        if suggestions and written_in_chinese(" ".join(suggestions)):
            text += "可以试试：" + "；".join(suggestions) + "。"
        return text + "没有生成新版本。"
    text = f"I couldn't do that: {message}"
    if hint:
        text += f" ({hint})"
    if suggestions:
        text += " Try: " + "; ".join(suggestions)
    return text


def describe_outcome(
    outcome: dict[str, Any], language: str, operations: list[dict[str, Any]] | None = None
) -> str:
    """The reply sentence for one tool outcome; ``operations``: the plan of an edit's version."""
    if not outcome.get("ok", True):
        return describe_failure(outcome, language)
    action = outcome.get("action")
    zh = language == "zh"
    image, version = outcome.get("image"), outcome.get("version")
    data = outcome.get("data") or {}
    if action in ("edit_image", "apply_theme"):
        return describe_edit(outcome, language, operations or [])
    if action == "select_image":
        return (
            f"已切换到图{image}（当前是第{version}版）。"
            if zh
            else f"Switched to image {image} (at version {version})."
        )
    if action == "undo":
        return (
            f"已撤销：图{image}回到第{version}版。"
            if zh
            else f"Undone: image {image} is back at version {version}."
        )
    if action == "redo":
        return (
            f"已重做：图{image}回到第{version}版。"
            if zh
            else f"Redone: image {image} is at version {version} again."
        )
    if action == "revert":
        if version == 0:
            return (
                f"已恢复图{image}的原图（第0版），之后的编辑将从原图开始。"
                if zh
                else f"Image {image} is back to the original (version 0); new edits start from it."
            )
        return (
            f"已将图{image}恢复到第{version}版，之后的编辑将从这一版开始。"
            if zh
            else f"Image {image} is back at version {version}; new edits start from it."
        )
    if action == "list_versions":
        lines = []
        for row in data.get("versions", []):
            mark = "*" if row["head"] else " "
            what = row["resolved_instruction"] or ("原图" if zh else "original")
            parent = "" if row["parent"] is None else (f" ← {row['parent']}")
            lines.append(f"{mark} v{row['version']}{parent}: {what}")
        head = (
            f"图{image}共有{len(lines)}个版本（* 为当前版本）："
            if zh
            else f"Image {image} has {len(lines)} versions (* = current):"
        )
        return "\n".join([head, *lines])
    if action == "describe_image":
        entities = ", ".join(e["name"] for e in data.get("entities", [])) or ("无" if zh else "none")
        words = " / ".join(data.get("text", [])) or ("无" if zh else "none")
        if zh:
            size = f"{data['width']}x{data['height']}"
            return f"图{image}第{version}版：{size}，文字：{words}；已知对象：{entities}。"
        size = f"{data['width']}x{data['height']}"
        return f"Image {image}, version {version}: {size}; text: {words}; known objects: {entities}."
    if action == "compare_versions":
        ratio = data.get("changed_area_ratio", 0.0)
        base = outcome.get("parent_version")
        if zh:
            return f"第{version}版与第{base}版相比，改动了画面的{ratio:.1%}（已生成差异图）。"
        return f"Version {version} differs from version {base} in {ratio:.1%} of the picture (see the diff)."
    return outcome.get("message", "")


def not_done(steps: list[str], language: str) -> str:
    """What the turn asked for after a step that failed: none of it ran."""
    if language == "zh":
        return "因此后面的步骤没有执行：" + "、".join(f"“{step}”" for step in steps) + "。"
    return "So I stopped there and did not do: " + ", ".join(f'"{step}"' for step in steps) + "."


def refusal(reason: str, language: str, **values: Any) -> str:
    """A navigation step that cannot be done, found before any tool runs."""
    zh = {
        "nothing_to_undo": "图{image}现在就是原图，没有可以撤销的修改。",
        "nothing_to_redo": "图{image}没有可以重做的修改（重做只在撤销之后、新的修改之前有效）。",
        "no_image": "这个会话只有{count}张图，没有第{position}张。",
        "first_image": "图{image}已经是第一张了，前面没有图片。",
        "last_image": "图{image}已经是最后一张了，后面没有图片。",
        "no_previous_version": "图{image}现在就是原图，没有上一版。",
        "no_next_version": "图{image}的第{version}版已经是最新的一版，没有下一版。",
        "no_version": "图{image}没有这一版（共有{count}个版本，第0版到第{last}版）。",
    }
    en = {
        "nothing_to_undo": "Image {image} is at the original; there is nothing to undo.",
        "nothing_to_redo": "Image {image} has nothing to redo (redo works after an undo, before a new edit).",
        "no_image": "This session has {count} image(s); there is no image {position}.",
        "first_image": "Image {image} is already the first image; there is none before it.",
        "last_image": "Image {image} is already the last image; there is none after it.",
        "no_previous_version": "Image {image} is at the original; there is no previous version.",
        "no_next_version": "Version {version} is the newest of image {image}; there is no next version.",
        "no_version": "Image {image} has no such version (it has versions 0 to {last}).",
    }
    return (zh if language == "zh" else en)[reason].format(**values)


def clarification(candidates: list[dict[str, Any]], language: str) -> str:
    """The question asked when a reference fits more than one known object."""
    if language == "zh":
        lines = [
            f"{i}. 图{c['image']}{_where_zh(c['version'])}{c['name']}" for i, c in enumerate(candidates, 1)
        ]
        return "你指的是哪一个？\n" + "\n".join(lines) + "\n请回复编号或名称。"
    lines = [
        f"{i}. the {c['name']} (image {c['image']}, {_where_en(c['version']).strip()})"
        for i, c in enumerate(candidates, 1)
    ]
    return "Which one do you mean?\n" + "\n".join(lines) + "\nReply with the number or the name."


def _needs_qwen(references: list[int], language: str) -> str:
    """Why an edit that uses other images as references could not run, and what would run it."""
    if language == "zh":
        names = "、".join(f"图{p}" for p in references)
        return (
            f"这一步需要 qwen 引擎：要把{names}作为参考图一起交给模型，而 classic 引擎一次只能处理一张图。"
            "请设置 IMGEDIT_QWEN_MODEL 为本地的 Qwen-Image-Edit-2509 模型目录，"
            "并用 --engine qwen（或 auto）。"
            "没有生成新版本。"
        )
    names = " and ".join(f"image {p}" for p in references)
    return (
        f"This edit needs the qwen engine: it uses {names} as a reference, and the classic engine edits "
        "one image at a time. Set IMGEDIT_QWEN_MODEL to a local Qwen-Image-Edit-2509 folder and use "
        "--engine qwen (or auto). No new version was made."
    )


def which_image(candidates: list[int], needed: int, language: str) -> str:
    """The question asked when "the other one" or "the two photos" could mean several images."""
    if language == "zh":
        listed = "、".join(f"图{p}" for p in candidates)
        what = "哪两张图" if needed == 2 else "哪一张图"
        return f"你指的是{what}？可选：{listed}。请回复编号，例如“{candidates[0]}”。"
    listed = ", ".join(f"image {p}" for p in candidates)
    what = "which two images" if needed == 2 else "which image"
    example = f"{candidates[0]} and {candidates[1]}" if needed == 2 and len(candidates) > 1 else candidates[0]
    return f"Do you mean {what}? Choose from {listed}; reply with the number(s), e.g. '{example}'."


def need_image(language: str) -> str:
    if language == "zh":
        return "这个会话里还没有图片。请先用 /attach 路径 添加一张图片，然后告诉我要怎么改。"
    return "There is no image in this session yet. Attach one with /attach PATH, then tell me what to change."


def help_text(language: str) -> str:
    if language == "zh":
        return (
            "告诉我要怎么改图，例如“把红色连衣裙换成蓝色”“调亮一点”“套用复古主题”。"
            "也可以说“撤销”“重做”“回到原图”“看看历史版本”“对比一下”。"
        )
    return (
        "Tell me what to change, e.g. 'make the red dress blue', 'make it brighter', "
        "'apply the retro theme'. "
        "You can also say 'undo', 'redo', 'go back to the original', 'show the history' or 'compare'."
    )
