"""Preservation: keep every pixel the instruction did not name.

Generative models shift, zoom and recolour regions they were not asked to touch (QwenLM/
Qwen-Image issues 160 and 229). After a local edit we (1) align the output to the input with
an ECC affine fit, falling back to phase correlation, (2) find the changed region from the
per-pixel difference cleaned with morphology, and (3) composite: original pixels outside a
feathered mask of that region, edited pixels inside. Backends that are exact (classic) skip
the composite; the changed-area ratio is measured for every edit either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

#: Per-pixel difference (max over channels, 0..255, after a light blur) that counts as changed.
GENERATIVE_THRESHOLD = 28
#: For exact backends any real change counts; 2 levels absorb rounding.
EXACT_THRESHOLD = 2
#: Alignments beyond these bounds are not drift but a different picture: leave it unaligned.
MAX_SHIFT_FRACTION = 0.08
MAX_SCALE_CHANGE = 0.1
_ALIGN_SIDE = 512


@dataclass
class PreserveResult:
    image: Image.Image
    changed_area_ratio: float
    mask: np.ndarray  # bool, True where the output differs from the input
    warnings: list[str] = field(default_factory=list)
    alignment: tuple[float, float, float] | None = None  # (dx, dy, scale) applied, if any


def estimate_alignment(original: np.ndarray, edited: np.ndarray) -> np.ndarray | None:
    """A 2x3 affine that maps ``edited`` onto ``original``'s frame, or None when none is needed.

    Works on grey images downscaled to about 512 px, then scales the translation back up.
    """
    height, width = original.shape[:2]
    factor = min(1.0, _ALIGN_SIDE / max(height, width))
    size = (max(8, round(width * factor)), max(8, round(height * factor)))
    a = cv2.resize(cv2.cvtColor(original, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    b = cv2.resize(cv2.cvtColor(edited, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    a32, b32 = a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0
    warp = np.eye(2, 3, dtype=np.float32)
    try:
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
        _, warp = cv2.findTransformECC(a32, b32, warp, cv2.MOTION_AFFINE, criteria, None, 5)
    except cv2.error:
        window = cv2.createHanningWindow(size, cv2.CV_32F)
        (dx, dy), _ = cv2.phaseCorrelate(a32, b32, window)
        warp = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    scale = float(np.sqrt(abs(np.linalg.det(warp[:, :2]))))
    dx, dy = float(warp[0, 2]) / factor, float(warp[1, 2]) / factor
    if abs(scale - 1.0) < 0.002 and abs(dx) < 0.5 and abs(dy) < 0.5:
        return None
    if abs(scale - 1.0) > MAX_SCALE_CHANGE or max(abs(dx) / width, abs(dy) / height) > MAX_SHIFT_FRACTION:
        return None
    full = warp.astype(np.float64).copy()
    full[0, 2], full[1, 2] = dx, dy
    return full


def changed_mask(original: np.ndarray, edited: np.ndarray, threshold: int, clean: bool) -> np.ndarray:
    """Pixels that differ by more than ``threshold``; ``clean`` removes specks and fills holes."""
    if clean:
        a = cv2.GaussianBlur(original, (5, 5), 0)
        b = cv2.GaussianBlur(edited, (5, 5), 0)
    else:
        a, b = original, edited
    diff = cv2.absdiff(a, b).max(axis=2)
    mask = (diff > threshold).astype(np.uint8)
    if clean:
        side = max(3, round(min(mask.shape) * 0.004) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=2)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_area = mask.size * 0.0005
        keep = np.zeros(count, dtype=bool)
        keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
        mask = keep[labels].astype(np.uint8)
    return mask.astype(bool)


def feather(mask: np.ndarray) -> np.ndarray:
    """A soft alpha (0..1) that is 1 on the whole region and fades out just beyond it."""
    radius = max(2, round(max(mask.shape) * 0.006))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grown = cv2.dilate(mask.astype(np.uint8), kernel)
    alpha = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), radius / 2)
    alpha = np.maximum(alpha, mask.astype(np.float32))
    alpha[grown == 0] = 0.0  # exactly the original outside the grown region
    return alpha


def preserve_unedited(
    original: Image.Image,
    edited: Image.Image,
    *,
    mask: Image.Image | None = None,
    composite: bool = True,
    exact: bool = False,
) -> PreserveResult:
    """Measure what changed and, when ``composite``, put back the original outside it.

    ``mask`` (white = may change) restricts the edit to a region the caller chose.
    ``exact`` says the backend changed only what it meant to, so no alignment or cleaning.
    """
    a = np.asarray(original.convert("RGB"))
    b = np.asarray(edited.convert("RGB"))
    warnings: list[str] = []
    alignment = None
    if composite and not exact:
        warp = estimate_alignment(a, b)
        if warp is not None:
            height, width = a.shape[:2]
            b = cv2.warpAffine(
                b, warp, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT,
            )
            scale = float(np.sqrt(abs(np.linalg.det(warp[:, :2]))))
            alignment = (float(warp[0, 2]), float(warp[1, 2]), scale)
            warnings.append(
                f"The model shifted the picture by ({warp[0, 2]:.1f}, {warp[1, 2]:.1f}) px and scaled it "
                f"by {scale:.3f}; it was aligned back before compositing."
            )
    region = changed_mask(a, b, EXACT_THRESHOLD if exact else GENERATIVE_THRESHOLD, clean=not exact)
    user_mask = None
    if mask is not None:
        user_mask = np.asarray(mask.convert("L")) >= 128
        region &= user_mask
    ratio = float(region.mean())
    if not composite and user_mask is None:
        return PreserveResult(Image.fromarray(b), ratio, region, warnings, alignment)
    alpha = feather(region) if not exact else region.astype(np.float32)
    if user_mask is not None:
        alpha *= user_mask
    alpha3 = alpha[..., None]
    out = (b.astype(np.float32) * alpha3 + a.astype(np.float32) * (1.0 - alpha3)).round().astype(np.uint8)
    out[alpha == 0] = a[alpha == 0]
    return PreserveResult(Image.fromarray(out), ratio, region, warnings, alignment)
