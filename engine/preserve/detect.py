"""Finding what an edit changed.

Two measures. For exact backends (the classic engine) any pixel that differs counts
(``changed_mask``, ``measure_change``). For generative output, already aligned and colour
matched, ``generative_change`` must tell a real edit from what regeneration does to every pixel:
sub-pixel misalignment (large differences along every edge), VAE softening (fine texture
blurred) and noise. Morphological opening would remove those, and with them every stroke
thinner than its kernel: a 16 px text edit came back 97 % erased. Instead:

* *Envelope difference*: a pixel of the output counts only by how far it lies outside the
  range of the input's values in its 3x3 neighbourhood, and vice versa (so removed strokes count
  too). A misaligned or blurred copy stays inside that range; a new stroke, however thin, leaves
  it.
* *Hysteresis*: pixels above a low threshold are kept when their (slightly grown) connected
  group holds enough pixels above a high threshold: isolated noise goes, every part of a word
  stays, and no stroke is eroded.
* *Grounding*: inside boxes where the plan says the edit is (the OCR box of a text edit, an
  entity's box) the thresholds are lower and the detected strokes are closed into one solid
  region, clipped to the box: a text line is replaced as a whole, never patched letter by letter.

Detection runs on a copy of about ``WORK_AREA`` pixels: the model generates at about 1 MP, so
its output has no finer detail to find, and a 6 MP picture costs what a 1 MP one does.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from engine.classic.regions import Rect

#: Pixels the generative detector works on (about the model's generation area).
WORK_AREA = 1_100_000
#: Envelope difference (0..255, max over channels) that may be part of a change, and that
#: certainly is; inside a grounding box both are lower.
LOW_THRESHOLD = 8
HIGH_THRESHOLD = 20
GROUNDED_LOW = 5
GROUNDED_HIGH = 12
#: Above this softness the output is compared with the softened input's range as well.
WIDE_SOFTNESS = 1.0
#: Side of the central square the softness and the noise are read on.
SAMPLE_SIDE = 512
#: Blurs (sigma, working pixels) tried when estimating how soft the model's output is.
SOFTNESS_STEPS = (0.0, 0.5, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0)
#: A difference of the local averages (Gaussian, sigma 2) counts this much less than an envelope
#: difference: it also sees residual blur and misalignment, the envelope does not.
AVERAGE_MARGIN = 12
#: Noise (levels) beyond this is not read as noise: the thresholds stop rising there.
NOISE_CAP = 6.0
#: A 5x5 neighbourhood of the input whose grey range is under this is flat (noise is read there).
FLAT_RANGE = 10
#: A group of candidate pixels needs this many certain ones to count (at the working scale).
MIN_CERTAIN = 4
#: Detected change is grown by this many working pixels: the antialiased edges and the soft
#: halo a model leaves around a stroke belong to the edit.
GROW = 2
#: Gaps up to about twice this many working pixels between detected pixels are filled.
CLOSE = 3
#: For exact backends any real change counts; 2 levels absorb rounding.
EXACT_THRESHOLD = 2


def _channel_max_over(diff: np.ndarray, threshold: int) -> np.ndarray:
    """uint8 mask (0/1) of pixels where any channel of ``diff`` exceeds ``threshold``.

    Done with OpenCV's per-channel threshold and bitwise OR: several times faster than
    ``diff.max(axis=2)`` on large images.
    """
    _, over = cv2.threshold(diff, threshold, 1, cv2.THRESH_BINARY)
    red, green, blue = cv2.split(over)
    return cv2.bitwise_or(cv2.bitwise_or(red, green), blue)


def changed_mask(original: np.ndarray, edited: np.ndarray, threshold: int = EXACT_THRESHOLD) -> np.ndarray:
    """Pixels where any channel differs by more than ``threshold``: the exact measure."""
    return _channel_max_over(cv2.absdiff(original, edited), threshold).astype(bool)


def measure_change(original: np.ndarray, edited: np.ndarray, threshold: int = EXACT_THRESHOLD) -> float:
    """Share of pixels that changed, on a copy at most ~1024 px a side: a statistic, so a
    downscaled estimate is enough for whole-image edits and keeps a 2048² grade cheap."""
    height, width = original.shape[:2]
    factor = min(1.0, 1024 / max(height, width))
    if factor < 1.0:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        original = cv2.resize(original, size, interpolation=cv2.INTER_AREA)
        edited = cv2.resize(edited, size, interpolation=cv2.INTER_AREA)
    mask = _channel_max_over(cv2.absdiff(original, edited), threshold)
    return cv2.countNonZero(mask) / mask.size


def envelope_difference(original: np.ndarray, edited: np.ndarray, softness: float) -> np.ndarray:
    """uint8, per pixel: how far the output leaves the input's 3x3 range, or the input (softened
    as the model softens) leaves the output's; max over channels.

    The input is sharper than the model's output: its fine texture (hair, foam) would leave the
    soft output's range everywhere, so that direction compares a Gaussian-softened input
    (sigma ``softness``, see ``estimate_softness``). The output itself is never blurred, so a
    thin new stroke keeps its contrast.
    """
    kernel = np.ones((3, 3), np.uint8)
    softened = cv2.GaussianBlur(original, (0, 0), softness) if softness > 0 else original
    high, low = cv2.dilate(original, kernel), cv2.erode(original, kernel)
    if softness > WIDE_SOFTNESS:
        # A blur this wide reaches beyond the 3x3 window: a softened value may leave the sharp
        # input's range there, so the softened input's range counts too.
        high = cv2.max(high, cv2.dilate(softened, kernel))
        low = cv2.min(low, cv2.erode(softened, kernel))
    added = cv2.max(cv2.subtract(edited, high), cv2.subtract(low, edited))
    removed = cv2.max(
        cv2.subtract(softened, cv2.dilate(edited, kernel)), cv2.subtract(cv2.erode(edited, kernel), softened)
    )
    # The envelope is blind inside busy texture (a noise-like pattern spans its whole range in
    # 3x3): there a changed local average still shows.
    average = cv2.absdiff(cv2.GaussianBlur(original, (0, 0), 2.0), cv2.GaussianBlur(edited, (0, 0), 2.0))
    shifted = cv2.subtract(average, np.full_like(average, AVERAGE_MARGIN))
    red, green, blue = cv2.split(cv2.max(cv2.max(added, removed), shifted))
    return cv2.max(cv2.max(red, green), blue)


def _central(shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The central square of at most ``SAMPLE_SIDE`` pixels a side."""
    height, width = shape[:2]
    top, left = max(0, (height - SAMPLE_SIDE) // 2), max(0, (width - SAMPLE_SIDE) // 2)
    return slice(top, top + SAMPLE_SIDE), slice(left, left + SAMPLE_SIDE)


def estimate_softness(original: np.ndarray, edited: np.ndarray) -> float:
    """The Gaussian blur (working pixels) that best turns the input into the output: how soft the
    model's VAE and the resize back made it. Chosen among ``SOFTNESS_STEPS`` by the median
    difference of grey copies, which the edit (a minority of pixels) does not move; read on the
    central ``SAMPLE_SIDE`` square, which is enough for a median and keeps it cheap."""
    window = _central(original.shape)
    grey_a = cv2.cvtColor(original[window], cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey_b = cv2.cvtColor(edited[window], cv2.COLOR_RGB2GRAY).astype(np.float32)
    best, best_error = 0.0, float("inf")
    for sigma in SOFTNESS_STEPS:
        softened = cv2.GaussianBlur(grey_a, (0, 0), sigma) if sigma > 0 else grey_a
        error = float(np.median(np.abs(softened - grey_b)[::2, ::2]))
        if error < best_error - 1e-3:
            best, best_error = sigma, error
    return best


def noise_level(original: np.ndarray, edited: np.ndarray, softness: float) -> float:
    """Robust standard deviation (levels) of the output's own noise, read on flat parts of the
    input: the thresholds rise with it, so a grainier model output does not read as edits."""
    window = _central(original.shape)
    original, edited = original[window], edited[window]
    grey_a = cv2.cvtColor(original, cv2.COLOR_RGB2GRAY)
    kernel = np.ones((5, 5), np.uint8)
    flat = cv2.subtract(cv2.dilate(grey_a, kernel), cv2.erode(grey_a, kernel)) < FLAT_RANGE
    if flat.sum() < 256:
        return 0.0
    softened = (cv2.GaussianBlur(original, (0, 0), softness) if softness > 0 else original).astype(np.float32)
    residual = edited.astype(np.float32) - softened
    deviation = np.abs(residual[flat][::4].reshape(-1))
    # The 40th percentile of |residual| is 0.524 sigma for Gaussian noise, and it is read from
    # unedited pixels as long as most of the flat area is unedited; capped, since beyond that
    # the "noise" is the edit itself.
    return min(NOISE_CAP, float(np.percentile(deviation, 40)) / 0.5244)


def _work_scale(shape: tuple[int, ...]) -> float:
    return min(1.0, float(np.sqrt(WORK_AREA / (shape[0] * shape[1]))))


def _scaled(rect: Rect, factor: float, width: int, height: int) -> Rect:
    return Rect(
        max(0, int(rect.x0 * factor)),
        max(0, int(rect.y0 * factor)),
        min(width, int(np.ceil(rect.x1 * factor))),
        min(height, int(np.ceil(rect.y1 * factor))),
    )


def _hysteresis(
    difference: np.ndarray, low: np.ndarray, high: np.ndarray, boxes: Sequence[Rect]
) -> np.ndarray:
    """Candidates (``difference > low``) whose grown group holds ``MIN_CERTAIN`` certain pixels,
    or one certain pixel for a group that reaches into a grounding box."""
    candidate = (difference > low).astype(np.uint8)
    # Certain: the 3x3 mean is over half the high threshold. A stroke two pixels wide passes;
    # a lone noise peak, however high, does not.
    certain = cv2.blur(difference, (3, 3)) > high // 2
    joined = cv2.dilate(candidate, np.ones((3, 3), np.uint8))
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    strong = np.bincount(labels[certain], minlength=count)
    need = np.full(count, MIN_CERTAIN)
    for box in boxes:
        need[np.unique(labels[box.y0 : box.y1, box.x0 : box.x1])] = 1
    keep = strong >= need
    keep[0] = False
    return candidate.astype(bool) & keep[labels]


def generative_change(
    original: np.ndarray,
    edited: np.ndarray,
    grounding: Sequence[Rect] = (),
    covered: np.ndarray | None = None,
) -> np.ndarray:
    """bool mask (full size) of what a generative edit changed; ``edited`` must be aligned and
    colour matched to ``original``. ``grounding``: pixel boxes where the edit is expected.
    ``covered``: where the aligned output has real pixels (a zoom leaves a border it has none
    for); differences within reach of the rest are not evidence of an edit."""
    height, width = original.shape[:2]
    factor = _work_scale(original.shape)
    if factor < 1.0:
        size = (max(8, round(width * factor)), max(8, round(height * factor)))
        a = cv2.resize(original, size, interpolation=cv2.INTER_AREA)
        b = cv2.resize(edited, size, interpolation=cv2.INTER_AREA)
    else:
        a, b = original, edited
    small_h, small_w = a.shape[:2]
    softness = estimate_softness(a, b)
    difference = envelope_difference(a, b, softness)
    if covered is not None:
        small = covered if factor == 1.0 else cv2.resize(covered.astype(np.uint8), (small_w, small_h)) > 0
        reach = 2 * int(np.ceil(3 * max(softness, 1.0))) + 3
        border = cv2.dilate((~small).astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
        difference[border] = 0
    noise = noise_level(a, b, softness)
    low = np.full(difference.shape, max(LOW_THRESHOLD, round(3 * noise)), np.uint8)
    high = np.full(difference.shape, max(HIGH_THRESHOLD, round(7 * noise)), np.uint8)
    boxes = [_scaled(rect, factor, small_w, small_h) for rect in grounding]
    boxes = [box for box in boxes if box.area > 0]
    for box in boxes:
        window = (slice(box.y0, box.y1), slice(box.x0, box.x1))
        low[window] = max(GROUNDED_LOW, round(2 * noise))
        high[window] = max(GROUNDED_HIGH, round(4 * noise))
    mask = _hysteresis(difference, low, high, boxes).astype(np.uint8)
    for box in boxes:
        # Close the strokes found in the box into one region: the text line is replaced whole.
        window = (slice(box.y0, box.y1), slice(box.x0, box.x1))
        side = max(3, (min(box.width, box.height) // 3) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        padded = cv2.copyMakeBorder(mask[window], side, side, side, side, cv2.BORDER_CONSTANT, value=0)
        closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[side:-side, side:-side]
        mask[window] |= closed
    # Fill the gaps between strokes (where an old and a new letter overlap, each lies within the
    # other's range), then take in the antialiased edges and the halo: closing only adds pixels.
    gaps = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * CLOSE + 1, 2 * CLOSE + 1))
    padded = cv2.copyMakeBorder(mask, CLOSE, CLOSE, CLOSE, CLOSE, cv2.BORDER_CONSTANT, value=0)
    mask = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, gaps)[CLOSE:-CLOSE, CLOSE:-CLOSE]
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * GROW + 1, 2 * GROW + 1))
    mask = cv2.dilate(mask, grow)
    if factor < 1.0:
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    return mask.astype(bool)
