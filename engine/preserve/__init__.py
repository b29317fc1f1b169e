"""Preservation: keep every pixel the instruction did not name.

Generative models shift, zoom and recolour regions they were not asked to touch (QwenLM/
Qwen-Image issues 160 and 229). After a local generative edit we

1. align the output to the input (``align``: ECC affine fit, phase correlation as fallback),
2. undo its global colour cast (``colour``: robust per-channel gain and offset),
3. find what changed (``detect``: envelope difference with hysteresis, never an opening that
   erases thin strokes; lower thresholds and solid regions inside the plan's grounding boxes),
   and, when the plan bounds the edit (an entity's box), keep only the change inside the bounds,
4. composite (``seam``: Poisson blending inside the change, the input's own bytes outside).

Backends that are exact (classic) skip all of that; the changed-area ratio is measured for
every edit either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from engine.classic.regions import Rect
from engine.preserve.align import estimate_alignment
from engine.preserve.colour import IDENTITY, fit_colour
from engine.preserve.detect import EXACT_THRESHOLD, changed_mask, generative_change, measure_change
from engine.preserve.seam import poisson_composite
from engine.types import Grounding

__all__ = ["PreserveResult", "changed_mask", "measure_change", "preserve_unedited"]


@dataclass
class PreserveResult:
    image: Image.Image
    changed_area_ratio: float
    mask: np.ndarray  # bool, True where the output differs from the input
    warnings: list[str] = field(default_factory=list)
    alignment: tuple[float, float, float] | None = None  # (dx, dy, scale) applied, if any
    colour_shift: tuple[float, float, float] | None = None  # the cast undone, RGB levels at mid-grey
    #: Share of the picture the model changed outside the plan's bounds, and not kept (the
    #: editor refuses an edit whose change lies mostly there: the model edited something else).
    outside_ratio: float = 0.0


def preserve_unedited(
    original: Image.Image,
    edited: Image.Image,
    *,
    mask: Image.Image | None = None,
    composite: bool = True,
    exact: bool = False,
    grounding: Grounding = Grounding(),
) -> PreserveResult:
    """Measure what changed and, when ``composite``, put back the original outside it.

    ``mask`` (white = may change) restricts the edit to a region the caller chose.
    ``exact`` says the backend changed only what it meant to, so no alignment or cleaning.
    ``grounding``: where the plan says the edit is: in its ``boxes`` (OCR box of a text edit,
    entity boxes) detection is more sensitive and fills the region solidly; its ``bounds``, when
    set, are the only place a change is kept (measured elsewhere as ``outside_ratio``).
    """
    a = np.asarray(original.convert("RGB"))
    b = np.asarray(edited.convert("RGB"))
    user_mask = np.asarray(mask.convert("L")) >= 128 if mask is not None else None
    if not composite and user_mask is None:
        empty = np.zeros(a.shape[:2], dtype=bool)
        return PreserveResult(edited.convert("RGB"), measure_change(a, b), empty)
    if exact:
        # The backend changed only what it meant to: measure exactly, composite only a user mask.
        region = changed_mask(a, b, EXACT_THRESHOLD)
        if user_mask is None:
            return PreserveResult(edited.convert("RGB"), float(region.mean()), region)
        region &= user_mask
        out = np.where(user_mask[..., None], b, a)
        return PreserveResult(Image.fromarray(out), float(region.mean()), region)

    warnings: list[str] = []
    alignment = None
    covered = None
    fitted = estimate_alignment(a, b)
    if fitted is not None:
        b = fitted.apply(b)
        covered = fitted.covered(a.shape)
        dx, dy = fitted.shift
        alignment = (dx, dy, fitted.scale)
        warnings.append(
            f"The model shifted the picture by ({dx:.1f}, {dy:.1f}) px and scaled it "
            f"by {fitted.scale:.3f}; it was aligned back before compositing."
        )
    colour_shift = None
    allowed = _within(grounding.bounds, a.shape) if grounding.bounds else None
    # A cast is drift only when the rest is to be kept; a whole-image edit's grading is the edit.
    # It is read where nothing may change: outside the user's mask, and outside the bounds while
    # they leave most of the picture (else the robust fit's own choice of inliers is better).
    unedited = None if user_mask is None else ~user_mask
    if allowed is not None and allowed.mean() < 0.5:
        unedited = ~allowed if unedited is None else unedited & ~allowed
    cast = fit_colour(a, b, unedited) if composite else IDENTITY
    if not cast.is_identity:
        b = cast.undo(b, a)
        colour_shift = cast.shift
        warnings.append(
            f"The model shifted the colours by {cast.describe()} (RGB levels); they were matched "
            "back to the input before compositing."
        )
    region = generative_change(a, b, grounding.boxes, covered)
    if covered is not None:
        region &= covered
    if user_mask is not None:
        region &= user_mask
    outside_ratio = 0.0
    if allowed is not None:
        outside_ratio = float((region & ~allowed).mean())
        region &= allowed
        if outside_ratio > 0.0:
            warnings.append(
                f"The model also changed {outside_ratio:.2%} of the picture outside the box of what "
                "was edited; that was not kept."
            )
    if composite:
        out = poisson_composite(a, b, region)
    else:
        out = b if user_mask is None else np.where(user_mask[..., None], b, a)
    return PreserveResult(
        Image.fromarray(out), float(region.mean()), region, warnings, alignment, colour_shift, outside_ratio
    )


def _within(rects: Sequence[Rect], shape: tuple[int, ...]) -> np.ndarray:
    """bool, ``shape``'s size: True inside any of ``rects``."""
    inside = np.zeros(shape[:2], dtype=bool)
    for rect in rects:
        inside[rect.y0 : rect.y1, rect.x0 : rect.x1] = True
    return inside
