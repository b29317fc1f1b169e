"""Alignment: undo the small zoom and shift a generative model adds to the whole picture.

Qwen-Image-Edit regenerates every pixel at about 1 MP and often returns the picture zoomed by
about 1 % and shifted by a few pixels (QwenLM/Qwen-Image issues 160 and 229). Differencing
without undoing that marks every edge as changed. OpenCV's ECC fit (``findTransformECC``) is
used because its criterion, a zero-mean normalised correlation, is unaffected by a gain and
offset of the grey image: a colour cast does not disturb it. It runs on grey copies, first at
256 px a side (cheap, large capture range), then refitted at 512 px without the pixels that
disagree (the edit); phase correlation (translation only) is the fallback when ECC does not
converge.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Alignments beyond these bounds are not drift but a different picture: leave it unaligned.
MAX_SHIFT_FRACTION = 0.08
MAX_SCALE_CHANGE = 0.1
#: Sides of the first fit and of the refit without the edit. 512 px is enough: detection works on
#: about 1 MP, and 0.1 px at 512 px is 0.3 px on a 6 MP picture (0.15 px of the detector's copy).
COARSE_SIDE = 256
FINE_SIDE = 512


@dataclass(frozen=True)
class Alignment:
    """A 2x3 affine mapping ``original``'s pixel grid into the model output (inverse map)."""

    warp: np.ndarray

    @property
    def shift(self) -> tuple[float, float]:
        return float(self.warp[0, 2]), float(self.warp[1, 2])

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(self.warp[:, :2]))))

    def apply(self, edited: np.ndarray) -> np.ndarray:
        """``edited`` resampled onto the original's grid."""
        height, width = edited.shape[:2]
        return cv2.warpAffine(
            edited,
            self.warp,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT,
        )

    def covered(self, shape: tuple[int, ...]) -> np.ndarray:
        """bool: pixels of the original's grid that the model output actually covers (a zoom
        or shift leaves a border the output has nothing for; it is kept as the original)."""
        height, width = shape[:2]
        ones = np.ones((height, width), np.uint8)
        warped = cv2.warpAffine(
            ones, self.warp, (width, height), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderValue=0
        )
        return cv2.erode(warped, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0


def _grey(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """A float grey copy at most ``side`` px a side (shrunk before the colour conversion: on a
    6 MP picture that order is several times cheaper), and its scale factor."""
    height, width = image.shape[:2]
    factor = min(1.0, side / max(height, width))
    if factor < 1.0:
        size = (max(8, round(width * factor)), max(8, round(height * factor)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0, factor


def _shrunk(grey: np.ndarray, factor: float, ratio: float) -> tuple[np.ndarray, float]:
    """``grey`` (at ``factor`` of the picture) shrunk by ``ratio`` more."""
    if ratio >= 1.0:
        return grey, factor
    height, width = grey.shape
    size = (max(8, round(width * ratio)), max(8, round(height * ratio)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), factor * ratio


def _ecc(
    a: np.ndarray, b: np.ndarray, warp: np.ndarray, iterations: int, use: np.ndarray | None
) -> np.ndarray:
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, 1e-5)
    _, fitted = cv2.findTransformECC(a, b, warp.astype(np.float32), cv2.MOTION_AFFINE, criteria, use, 5)
    return fitted.astype(np.float64)


def _unchanged(a: np.ndarray, b: np.ndarray, warp: np.ndarray) -> np.ndarray:
    """uint8 mask of the pixels that agree once ``b`` is warped back: ECC is a least-squares fit,
    so a large edit (a 40 px text line on a small picture) pulls it; the second fit ignores it.
    Both grey images are standardised first, since a colour cast shifts and scales the grey."""
    height, width = a.shape
    back = cv2.warpAffine(b, warp, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    za = (a - a.mean()) / max(float(a.std()), 1e-3)
    zb = (back - back.mean()) / max(float(back.std()), 1e-3)
    residual = cv2.GaussianBlur(np.abs(za - zb), (0, 0), 2.0)
    limit = max(0.15, 4.0 * float(np.median(residual)))
    changed = (residual > limit).astype(np.uint8)
    side = max(3, round(max(height, width) * 0.02)) | 1
    changed = cv2.dilate(changed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    use = (1 - changed).astype(np.uint8)
    # Too little left to fit on: the first fit is all there is.
    return use if use.mean() > 0.3 else np.ones_like(use)


def _rescaled(warp: np.ndarray, ratio: float) -> np.ndarray:
    """The same geometric map expressed on a grid ``ratio`` times larger."""
    out = warp.copy()
    out[:, 2] *= ratio
    return out


def estimate_alignment(original: np.ndarray, edited: np.ndarray) -> Alignment | None:
    """How ``edited`` is displaced relative to ``original``, or None when it is not (or when
    the displacement is too large to be drift: then the picture was recomposed on purpose)."""
    height, width = original.shape[:2]
    a_fine, factor = _grey(original, FINE_SIDE)
    b_fine, _ = _grey(edited, FINE_SIDE)
    ratio = COARSE_SIDE / max(a_fine.shape)
    a, coarse = _shrunk(a_fine, factor, ratio)
    b, _ = _shrunk(b_fine, factor, ratio)
    try:
        warp = _ecc(a, b, np.eye(2, 3), 50, None)
        warp = _rescaled(warp, factor / coarse)
        use = _unchanged(a_fine, b_fine, warp)
        warp = _ecc(a_fine, b_fine, warp, 30, use)
    except cv2.error:
        window = cv2.createHanningWindow((a_fine.shape[1], a_fine.shape[0]), cv2.CV_32F)
        (dx, dy), _ = cv2.phaseCorrelate(a_fine, b_fine, window)
        warp = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    full = _rescaled(warp, 1.0 / factor)
    alignment = Alignment(full)
    dx, dy = alignment.shift
    # Zoom about the centre also moves the corner the translation is measured at: judge the
    # displacement of the centre.
    centre = full @ np.array([width / 2, height / 2, 1.0]) - np.array([width / 2, height / 2])
    if abs(alignment.scale - 1.0) < 0.001 and abs(dx) < 0.25 and abs(dy) < 0.25:
        return None
    if (
        abs(alignment.scale - 1.0) > MAX_SCALE_CHANGE
        or max(abs(centre[0]) / width, abs(centre[1]) / height) > MAX_SHIFT_FRACTION
    ):
        return None
    return alignment
