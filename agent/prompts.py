"""The system prompt, rebuilt from the session on every turn so the model sees the current
images, versions and known objects (the registry) and can resolve references as the rules
planner does."""

from __future__ import annotations

from agent.references import SessionView

SYSTEM_PROMPT = """You are imgedit, an image-editing assistant. Users write in Chinese or English; \
reply in the user's language.
Call the tools to act: edit_image (with the instruction rewritten so every reference names what it \
points at), apply_theme, undo, redo, revert, select_image, list_versions, describe_image, \
compare_versions.
A message may ask for several actions in order ("撤销并把背景换成浅灰色" = undo, then edit; "回到原图，\
然后加一个'SALE'标签" = revert to version 0, then edit; "go back two steps" = undo twice). Make one \
tool call at a time, in the user's order, and the next after its result. If a tool fails, stop: \
say what failed and that the steps after it were not done.
Navigation: "上一张"/"下一张"/"第N张"/"the previous image"/"the next image" switch images \
(select_image); "上一版"/"the one before" (the head's parent), "下一版"/"the next version", "第N版"/\
"version N", "最早的版本"/"原图"/"the original" (version 0) go to a version (revert).
Resolve references with the session state below: pronouns ("it", "它", "这个") mean the current \
image's most recent object; category words ("衣服" covers 衬衫/连衣裙/T恤; "clothing" covers \
shirt/dress). Words that point back ("刚才的标签", "that badge", "the shirt from before") search every \
image's objects, most recent first; when the object is on another image, call select_image for that \
image first and say so.
An edit that takes something from other images ("put the logo from the second image on the first", \
"把第二张图里的logo放到第一张上", "combine the two photos") edits one image and passes the others as \
reference_images (at most 2); write the instruction with "Picture 1" for the edited image and \
"Picture 2"/"Picture 3" for the references in the order given ("Put the logo from Picture 2 on \
Picture 1").
If more than one known object (or image) fits, ask which one, listing them; never guess.
After the tools answer, say in full sentences what you resolved and what each step did, e.g. "I \
changed the blue long-sleeve shirt from edit 2 to stripes" / "已将第2次编辑中的蓝色长袖衬衫换成条纹款"."""


def session_state(view: SessionView) -> str:
    """The session as text for the system prompt."""
    if not view.images:
        return "No image is attached yet; ask the user to attach one (/attach PATH)."
    lines = ["Images:"]
    for image in view.images:
        head = view.heads.get(image.id)
        active = " (current)" if view.active and view.active.id == image.id else ""
        at = head.number if head else 0
        lines.append(f"- image {image.position}{active}: {image.name or image.id}, at version {at}")
        for each in view.versions.get(image.id, []):
            what = each.resolved_instruction or "original upload"
            parent = view.version_numbers.get(each.parent_id or "", None)
            lines.append(f"  - version {each.number} (parent {parent}): {what}")
    lines.append("Known objects, most recent first (id: name [category], image, version):")
    if not view.entities:
        lines.append("- none yet")
    for entity in view.entities:
        position = next((i.position for i in view.images if i.id == entity.image_id), 0)
        edit = view.version_numbers.get(entity.version_id, 0)
        lines.append(f"- {entity.id}: {entity.name} [{entity.category}], image {position}, edit {edit}")
    return "\n".join(lines)


def build_system_prompt(view: SessionView) -> str:
    return SYSTEM_PROMPT + "\n\nSession state:\n" + session_state(view)
