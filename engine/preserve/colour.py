"""Colour matching: undo the model's global colour cast before differencing and compositing.

Qwen-Image-Edit (and more so its Lightning LoRAs) returns the whole picture slightly warmer,
brighter or flatter. Left alone, a cast marks most of the image as changed (a local edit is
then refused) and a smaller one leaves a colour step where the edit meets the original. We fit,
per channel, ``output = gain * input + offset`` on the pixels that are likely unedited and map
the output back through the inverse. The fit is a least-squares line refitted three times on
the pixels whose residual is within a few robust standard deviations (MAD), so the edit itself,
even a third of the picture, and the output's noise do not pull it. It runs on a copy of about
256 px a side: area averaging there also absorbs sub-pixel misalignment and VAE softening.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FIT_SIDE = 256
#: Blur (pixels of the fitting copy) applied to both sides before fitting.
SOFTEN = 1.5
#: Outside these bounds the "cast" is a different picture, not drift: no correction.
MIN_GAIN, MAX_GAIN = 0.6, 1.6
MAX_OFFSET = 96.0
#: Residuals within this many robust standard deviations (and at least ``MIN_BAND`` levels)
#: count as unedited for the next fit.
BAND_SIGMAS = 3.0
MIN_BAND = 4.0
#: The fit is trusted only when at least this share of the usable pixels agree with it.
MIN_INLIERS = 0.5


@dataclass(frozen=True)
class ColourFit:
    """Per-channel ``output = gain * input + offset`` (RGB)."""

    gain: tuple[float, float, float]
    offset: tuple[float, float, float]

    @property
    def is_identity(self) -> bool:
        return all(abs(g - 1.0) < 0.01 for g in self.gain) and all(abs(o) < 1.0 for o in self.offset)

    def undo(self, edited: np.ndarray, original: np.ndarray) -> np.ndarray:
        """``edited`` with the cast removed (a lookup table per channel, so it is cheap).

        A channel the cast pushed to 0 or 255 only says the true value lay beyond the limit:
        there the input's own value is taken when it is consistent with that bound, so a
        brightened white shirt is not read as changed.
        """
        levels = np.arange(256, dtype=np.float64)
        channels = []
        for index, (gain, offset) in enumerate(zip(self.gain, self.offset, strict=True)):
            table = np.clip((levels - offset) / gain + 0.5, 0, 255).astype(np.uint8)
            out = cv2.LUT(edited[..., index], table)
            source = original[..., index]
            high = edited[..., index] >= 254
            low = edited[..., index] <= 1
            out[high] = np.maximum(out[high], source[high])
            out[low] = np.minimum(out[low], source[low])
            channels.append(out)
        return cv2.merge(channels)

    @property
    def shift(self) -> tuple[float, float, float]:
        """The cast as RGB level shifts at mid-grey (what a person would call it)."""
        r, g, b = (o + (gain - 1.0) * 128 for gain, o in zip(self.gain, self.offset, strict=True))
        return (float(r), float(g), float(b))

    def describe(self) -> str:
        return "(" + ", ".join(f"{round(s):+d}" for s in self.shift) + ")"


def _small(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    factor = min(1.0, FIT_SIDE / max(height, width))
    if factor < 1.0:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def _soft(image: np.ndarray) -> np.ndarray:
    """Both sides blurred alike: regressing a soft output on a sharp input would read the lost
    texture as a lower gain (regression dilution)."""
    return cv2.GaussianBlur(_small(image), (0, 0), SOFTEN)


def fit_colour(original: np.ndarray, edited: np.ndarray, unedited: np.ndarray | None = None) -> ColourFit:
    """The cast that maps ``original`` to ``edited`` over their unedited pixels.

    ``unedited`` (bool, the images' size) restricts the fit to pixels known to be unedited.
    """
    x = _soft(original).reshape(-1, 3).astype(np.float64)
    y = _soft(edited).reshape(-1, 3).astype(np.float64)
    # Clipped pixels carry no information about the cast.
    usable = ((y > 2) & (y < 253)).all(axis=1) & ((x > 2) & (x < 253)).all(axis=1)
    if unedited is not None:
        usable &= _small(unedited.astype(np.uint8) * 255).reshape(-1) == 255
    keep = usable
    gain = np.ones(3)
    offset = np.zeros(3)
    for _ in range(3):
        if keep.sum() < 64:
            break
        for c in range(3):
            xs, ys = x[keep, c], y[keep, c]
            spread = xs.var()
            if spread < 4.0:  # a flat channel: only the offset can be told
                gain[c], offset[c] = 1.0, float(np.median(ys - xs))
            else:
                gain[c] = float(np.cov(xs, ys, bias=True)[0, 1] / spread)
                offset[c] = float(ys.mean() - gain[c] * xs.mean())
        residual = np.abs(y - (x * gain + offset))
        worst = residual.max(axis=1)
        mad = float(np.median(worst[keep]))
        keep = usable & (worst <= max(MIN_BAND, BAND_SIGMAS * 1.4826 * mad))
    if keep.sum() < MIN_INLIERS * usable.sum():
        # Most of the picture changed: there is no unedited majority to read a cast from.
        return IDENTITY
    if not ((gain >= MIN_GAIN) & (gain <= MAX_GAIN)).all() or (np.abs(offset) > MAX_OFFSET).any():
        return IDENTITY
    return ColourFit(
        (float(gain[0]), float(gain[1]), float(gain[2])),
        (float(offset[0]), float(offset[1]), float(offset[2])),
    )


IDENTITY = ColourFit((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
