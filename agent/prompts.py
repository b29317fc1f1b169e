"""The system prompt, rebuilt from the session on every turn so the model sees the current
images, versions and known objects (the registry) and can resolve references as the rules
planner does."""

from __future__ import annotations

from agent.references import SessionView

SYSTEM_PROMPT = """You are imgedit, an image-editing assistant. Users write in Chinese or English; \
reply in the user's language.
Call the tools to act: edit_image (with the instruction rewritten so every reference names what it \
points at), apply_theme, undo, redo, revert, list_versions, describe_image, compare_versions.
Resolve references with the session state below: pronouns ("it", "它", "这个"), category words \
("衣服" covers 衬衫/连衣裙/T恤; "clothing" covers shirt/dress), recency ("刚才", "the last one"), versions \
("原图"/"the original" = version 0, "上一版"/"the previous version"), images ("第二张"/"the second image").
An edit that takes something from other images ("put the logo from the second image on the first", \
"把第二张图里的logo放到第一张上", "combine the two photos") edits one image and passes the others as \
reference_images (at most 2); write the instruction with "Picture 1" for the edited image and \
"Picture 2"/"Picture 3" for the references in the order given ("Put the logo from Picture 2 on \
Picture 1").
If more than one known object (or image) fits, ask which one, listing them; never guess.
After the tools answer, say what you resolved and what you did, e.g. "I changed the blue long-sleeve \
shirt from edit 2 to stripes" / "已将第2次编辑中的蓝色长袖衬衫改为条纹款"."""


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
