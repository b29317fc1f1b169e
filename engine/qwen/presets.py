"""Speed presets of the qwen engine (``IMGEDIT_QWEN_PRESET``) and the check of the LoRA they need.

``quality`` is the model's published recipe: 40 steps, true CFG 4 with the negative prompt " ".
``lightning-8`` and ``lightning-4`` run lightx2v's distilled Lightning LoRAs (for Edit-2509 or
Edit-2511), which only work with the scheduler they were distilled with and with CFG off: a
Lightning LoRA at 40 steps, or the 4-step LoRA at 8 steps, gives blurred or burnt pictures
without any error. So the preset is a setting, and the LoRA actually loaded is checked against it
at start: its step count comes from the file's own metadata, or from ``IMGEDIT_QWEN_LORA_STEPS``
when the file carries none (a file's name is never trusted: files get renamed). A mismatch stops
the start with a message that says which file and which setting to fix.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from imgedit.errors import BadInputError

PresetName = Literal["quality", "lightning-8", "lightning-4"]

#: The scheduler the Lightning LoRAs were distilled with (lightx2v/Qwen-Image-Lightning's README):
#: diffusers' ``FlowMatchEulerDiscreteScheduler`` config keys, set over the model's own scheduler.
LIGHTNING_SCHEDULER: dict[str, Any] = {
    "shift": 1.0,
    "base_shift": math.log(3),
    "max_shift": math.log(3),
    "use_dynamic_shifting": True,
    "time_shift_type": "exponential",
    "shift_terminal": None,
    "base_image_seq_len": 256,
    "max_image_seq_len": 8192,
}

#: Safetensors metadata keys that may say how many steps a LoRA was distilled for.
STEP_METADATA_KEYS = ("imgedit.distilled_steps", "distilled_steps", "num_inference_steps", "steps")


@dataclass(frozen=True)
class Preset:
    """Steps, true CFG and negative prompt of a preset; a distilled one also needs its LoRA."""

    name: PresetName
    steps: int
    true_cfg: float
    negative_prompt: str = " "
    #: Steps the preset's LoRA must have been distilled for; ``None``: no distilled LoRA needed.
    distilled_steps: int | None = None

    @property
    def distilled(self) -> bool:
        return self.distilled_steps is not None

    @property
    def scheduler_overrides(self) -> dict[str, Any]:
        """Config values set over the model's scheduler (none for the published recipe)."""
        return dict(LIGHTNING_SCHEDULER) if self.distilled else {}


PRESETS: dict[str, Preset] = {
    "quality": Preset(name="quality", steps=40, true_cfg=4.0),
    "lightning-8": Preset(name="lightning-8", steps=8, true_cfg=1.0, distilled_steps=8),
    "lightning-4": Preset(name="lightning-4", steps=4, true_cfg=1.0, distilled_steps=4),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise BadInputError(
            f"Unknown qwen preset '{name}'.", hint=f"IMGEDIT_QWEN_PRESET is one of {', '.join(PRESETS)}."
        ) from None


def lora_metadata(path: Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file, read from its header only (no tensors)."""
    try:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(handle.read(length))
    except (OSError, ValueError, struct.error) as exc:
        raise BadInputError(
            f"The LoRA file {path} is not a readable .safetensors file ({exc}).",
            hint="Set IMGEDIT_QWEN_LORA to a LoRA in safetensors format, or unset it.",
        ) from exc
    metadata = header.get("__metadata__") or {}
    return {str(key): str(value) for key, value in metadata.items()}


def declared_steps(metadata: dict[str, str]) -> int | None:
    """The distillation step count a LoRA's metadata states, if it states one."""
    lowered = {key.lower(): value for key, value in metadata.items()}
    for key in STEP_METADATA_KEYS:
        value = lowered.get(key)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


def check_lora(preset: Preset, lora: Path | None, lora_steps_setting: int | None) -> int | None:
    """The distillation steps of ``lora`` after checking it fits ``preset``; raises if it does not.

    The file's metadata wins over ``IMGEDIT_QWEN_LORA_STEPS``; when both are given and disagree,
    the setting is wrong and that is an error too.
    """
    if lora is None:
        if preset.distilled:
            raise BadInputError(
                f"The qwen preset '{preset.name}' needs the Lightning {preset.distilled_steps}-step LoRA, "
                "but no LoRA is set.",
                hint=f"Set IMGEDIT_QWEN_LORA to Qwen-Image-Edit-2509-Lightning-{preset.distilled_steps}"
                "steps-V1.0-bf16.safetensors (or the Edit-2511 file), or set IMGEDIT_QWEN_PRESET=quality.",
            )
        return None
    if not lora.is_file():
        raise BadInputError(
            f"The LoRA file {lora} does not exist.",
            hint="Set IMGEDIT_QWEN_LORA to a local .safetensors file, or unset it.",
        )
    from_file = declared_steps(lora_metadata(lora))
    if from_file is not None and lora_steps_setting is not None and from_file != lora_steps_setting:
        raise BadInputError(
            f"IMGEDIT_QWEN_LORA_STEPS is {lora_steps_setting} but the LoRA file {lora.name} says it was "
            f"distilled for {from_file} steps.",
            hint="Unset IMGEDIT_QWEN_LORA_STEPS (the file's metadata is used), or fix it.",
        )
    steps = from_file if from_file is not None else lora_steps_setting
    if preset.distilled:
        if steps is None:
            raise BadInputError(
                f"The qwen preset '{preset.name}' needs the Lightning {preset.distilled_steps}-step LoRA, "
                f"and the LoRA file {lora.name} does not say how many steps it was distilled for.",
                hint=f"If it is the {preset.distilled_steps}-step Lightning LoRA, set "
                f"IMGEDIT_QWEN_LORA_STEPS={preset.distilled_steps}.",
            )
        if steps != preset.distilled_steps:
            raise BadInputError(
                f"The qwen preset '{preset.name}' needs a LoRA distilled for {preset.distilled_steps} steps, "
                f"but {lora.name} was distilled for {steps}.",
                hint=f"Set IMGEDIT_QWEN_PRESET=lightning-{steps}, or IMGEDIT_QWEN_LORA to the "
                f"{preset.distilled_steps}-step Lightning LoRA.",
            )
    elif steps is not None:
        raise BadInputError(
            f"The LoRA {lora.name} is distilled for {steps} steps, which the 'quality' preset "
            "(40 steps, true CFG 4) would run it far outside of.",
            hint=f"Set IMGEDIT_QWEN_PRESET=lightning-{steps}, or unset IMGEDIT_QWEN_LORA.",
        )
    return steps


def override_warning(preset: Preset, steps: int, true_cfg: float) -> str | None:
    """The report's warning when an edit runs a distilled preset at other steps or CFG."""
    if not preset.distilled or (steps == preset.steps and true_cfg == preset.true_cfg):
        return None
    return (
        f"The '{preset.name}' preset's LoRA was distilled for {preset.steps} steps with CFG off; this edit "
        f"ran {steps} steps with true CFG {true_cfg:g}, settings it was not made for (expect blur or "
        "burnt colours)."
    )
