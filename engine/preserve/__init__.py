"""Preservation: keep every pixel the instruction did not name.

Generative models shift, zoom and recolour regions they were not asked to touch (QwenLM/
Qwen-Image issues 160 and 229). After a local generative edit we

1. align the output to the input (``align``: ECC affine fit, phase correlation as fallback),
2. undo its global colour cast (``colour``: robust per-channel gain and offset),
3. find what changed (``detect``: envelope difference with hysteresis, never an opening that
   erases thin strokes; lower thresholds and solid regions inside the plan's grounding boxes),
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

__all__ = ["PreserveResult", "changed_mask", "measure_change", "preserve_unedited"]


@dataclass
class PreserveResult:
    image: Image.Image
    changed_area_ratio: float
    mask: np.ndarray  # bool, True where the output differs from the input
    warnings: list[str] = field(default_factory=list)
    alignment: tuple[float, float, float] | None = None  # (dx, dy, scale) applied, if any
    colour_shift: tuple[float, float, float] | None = None  # the cast undone, RGB levels at mid-grey


def preserve_unedited(
    original: Image.Image,
    edited: Image.Image,
    *,
    mask: Image.Image | None = None,
    composite: bool = True,
    exact: bool = False,
    grounding: Sequence[Rect] = (),
) -> PreserveResult:
    """Measure what changed and, when ``composite``, put back the original outside it.

    ``mask`` (white = may change) restricts the edit to a region the caller chose.
    ``exact`` says the backend changed only what it meant to, so no alignment or cleaning.
    ``grounding``: pixel boxes where the plan says the edit is (OCR box of a text edit, entity
    boxes); detection is more sensitive there and fills the region solidly.
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
    # A cast is drift only when the rest is to be kept; a whole-image edit's grading is the edit.
    cast = fit_colour(a, b, None if user_mask is None else ~user_mask) if composite else IDENTITY
    if not cast.is_identity:
        b = cast.undo(b, a)
        colour_shift = cast.shift
        warnings.append(
            f"The model shifted the colours by {cast.describe()} (RGB levels); they were matched "
            "back to the input before compositing."
        )
    region = generative_change(a, b, grounding, covered)
    if covered is not None:
        region &= covered
    if user_mask is not None:
        region &= user_mask
    if composite:
        out = poisson_composite(a, b, region)
    else:
        out = b if user_mask is None else np.where(user_mask[..., None], b, a)
    return PreserveResult(
        Image.fromarray(out), float(region.mean()), region, warnings, alignment, colour_shift
    )
