"""The one plan of a restyle: the same look for many images (a deck's pictures, Figma fills).

Every restyle (plugins/pptx for decks, jobs/figma.py for Figma fills) builds its plan here, so a
theme is found the same way (the user's themes folder included) and the same plans are refused.
"""

from __future__ import annotations

from engine.editor import Editor
from engine.plan import EditPlan, Theme
from imgedit.errors import BadInputError


def restyle_plan(editor: Editor, *, theme: str | None = None, instruction: str | None = None) -> EditPlan:
    """The plan for every image of a restyle; refused now (a 4xx) rather than at the first image.

    Geometry changes are refused: a deck's crops and frames, like a Figma fill's
    ``imageTransform``, refer to the stored pixel grid, so cropping or rotating the pixels would
    reframe every place that shows the image.
    """
    if (theme is None) == (instruction is None):
        raise BadInputError("Give exactly one of 'theme' or 'instruction'.")
    if theme is not None:
        from engine.themes import get_theme

        found = get_theme(theme.strip(), extra_dir=editor.settings.themes_dir)  # NotFoundError lists them
        plan = EditPlan(instruction=f"theme:{found.name}", operations=[Theme(name=found.name)])
    else:
        plan = editor.parse(instruction or "")
    if plan.changes_geometry:
        raise BadInputError(
            f"'{plan.instruction}' would crop, resize, rotate or flip the pictures; a restyle keeps every "
            "picture's size and framing.",
            hint="Ask for a look (a theme, colours, tone, text) rather than a geometry change.",
        )
    editor.choose_backend(plan)  # UnsupportedOperationError now, naming what is missing
    return plan
