"""Loading the Qwen-Image-Edit-2509 pipeline once per process, and sharing it.

The pipeline is about 57 GB in bfloat16 and takes minutes to load, so it is loaded lazily on the
first edit, cached per (folder, options) for the life of the process, and shared by every engine
and request that asks for the same thing. One pipeline cannot run two calls at once (it keeps
per-call state such as ``_interrupt`` and the scheduler's timesteps), so each cached pipeline
carries a lock that callers hold for the duration of a call.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgedit.errors import BadInputError, ModelNotFoundError

if TYPE_CHECKING:  # pragma: no cover - import for type checkers only
    import torch
    from diffusers import QwenImageEditPlusPipeline

logger = logging.getLogger(__name__)

#: What a diffusers-layout Qwen-Image-Edit-2509 folder holds; a folder missing any is refused.
REQUIRED_FILES = ("model_index.json",)
REQUIRED_FOLDERS = ("transformer", "vae", "text_encoder", "tokenizer", "processor", "scheduler")
EXPECTED_PARTS = (*REQUIRED_FILES, *(f"{name}/" for name in REQUIRED_FOLDERS))

#: "org/name" as the Hugging Face hub spells a repository id.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_LIGHTNING_STEPS = re.compile(r"(\d+)[-_ ]?steps?", re.IGNORECASE)


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that makes one loaded pipeline different from another (the cache key)."""

    source: str
    device: str
    dtype: str
    cpu_offload: bool = False
    compile_transformer: bool = False
    lora_path: str | None = None


@dataclass
class LoadedPipeline:
    """A loaded pipeline, the lock that serialises calls on it, and how it was set up."""

    pipe: QwenImageEditPlusPipeline
    options: PipelineOptions
    #: Steps and true CFG the LoRA was distilled for (Lightning), else ``None``.
    lora_steps: int | None = None
    lora_true_cfg: float | None = None
    warnings: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def execution_device(self) -> torch.device:
        """Where the pipeline computes (the GPU even when the weights rest on the CPU with offload)."""
        device: torch.device = self.pipe._execution_device
        return device


_CACHE: dict[PipelineOptions, LoadedPipeline] = {}
_CACHE_LOCK = threading.Lock()


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def default_dtype(device: str) -> str:
    """bfloat16 on GPUs (what the weights are published in); float32 on the CPU, where bf16 is slow."""
    return "float32" if device == "cpu" else "bfloat16"


def resolve_source(model_path: str) -> str:
    """The folder (or hub id) to load, after checking that a local folder is complete.

    A string that is not an existing path but looks like ``org/name`` is passed on as a hub id,
    for machines that have a network or a filled hub cache; anything else must be a folder.
    """
    path = Path(model_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelNotFoundError(
                f"The Qwen model path {path} is a file, not a folder.",
                hint=_layout_hint(),
            )
        missing = missing_parts(path)
        if missing:
            raise ModelNotFoundError(
                f"The Qwen model folder {path} is incomplete: it lacks {', '.join(missing)}.",
                hint=_layout_hint(),
            )
        return str(path)
    if _HUB_ID.match(model_path) and not model_path.startswith((".", "~")):
        return model_path
    raise ModelNotFoundError(f"The Qwen model folder {path} does not exist.", hint=_layout_hint())


def missing_parts(folder: Path) -> list[str]:
    """The expected files and subfolders (``EXPECTED_PARTS``) that ``folder`` lacks or has empty."""
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    for name in REQUIRED_FOLDERS:
        sub = folder / name
        if not sub.is_dir() or not any(sub.iterdir()):
            missing.append(f"{name}/")
    return missing


def _layout_hint() -> str:
    return (
        "Point IMGEDIT_QWEN_MODEL (or --model) at a local Qwen-Image-Edit-2509 download in diffusers "
        f"layout, holding {', '.join(EXPECTED_PARTS)} (see docs/qwen.md)."
    )


def get_pipeline(options: PipelineOptions) -> LoadedPipeline:
    """The pipeline for ``options``, loaded on first use and shared afterwards."""
    with _CACHE_LOCK:
        loaded = _CACHE.get(options)
        if loaded is None:
            loaded = _load(options)
            _CACHE[options] = loaded
        return loaded


def _load(options: PipelineOptions) -> LoadedPipeline:
    import torch
    from diffusers import QwenImageEditPlusPipeline

    from engine.qwen.processor import ImageOnlyQwen2VLProcessor

    dtype = getattr(torch, options.dtype)
    local = Path(options.source).is_dir()
    try:
        processor = ImageOnlyQwen2VLProcessor.from_pretrained(
            str(Path(options.source) / "processor") if local else options.source,
            **({} if local else {"subfolder": "processor"}),
        )
        pipe = QwenImageEditPlusPipeline.from_pretrained(options.source, processor=processor, dtype=dtype)
    except (OSError, ValueError) as exc:
        if local:
            raise ModelNotFoundError(
                f"The Qwen model folder {options.source} could not be loaded: {exc}", hint=_layout_hint()
            ) from exc
        offline = " (HF_HUB_OFFLINE is set, so the hub was not asked)" if _hub_offline() else ""
        raise ModelNotFoundError(
            f"'{options.source}' is not a local folder and could not be loaded from the hub{offline}: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            hint=_layout_hint(),
        ) from exc
    pipe.set_progress_bar_config(disable=True)

    loaded = LoadedPipeline(pipe=pipe, options=options)
    if options.lora_path:
        _load_lora(loaded, Path(options.lora_path).expanduser())

    if options.cpu_offload and options.device != "cpu":
        pipe.enable_model_cpu_offload(device=options.device)
    else:
        if options.cpu_offload:
            loaded.warnings.append("CPU offload was asked for but the device is the CPU; it was ignored.")
        pipe.to(options.device)

    if options.compile_transformer:
        # Regional compilation: the 60 identical blocks compile once, in seconds rather than
        # minutes, for about the speed of compiling the whole transformer.
        pipe.transformer.compile_repeated_blocks(fullgraph=True)
    return loaded


def _load_lora(loaded: LoadedPipeline, lora: Path) -> None:
    """Load (and fuse) a LoRA file; a Lightning LoRA also gets its scheduler and step count."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    if not lora.is_file():
        raise BadInputError(
            f"The LoRA file {lora} does not exist.",
            hint="Set IMGEDIT_QWEN_LORA to a local .safetensors file, or unset it.",
        )
    pipe = loaded.pipe
    pipe.load_lora_weights(str(lora.parent), weight_name=lora.name, adapter_name="imgedit")
    # Fused weights cost nothing per step; the LoRA is fixed for the life of this pipeline.
    pipe.fuse_lora()
    pipe.unload_lora_weights()
    if "lightning" in lora.name.lower():
        # The scheduler the Lightning LoRAs were distilled with (lightx2v/Qwen-Image-Lightning).
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(
            pipe.scheduler.config,
            base_shift=math.log(3),
            max_shift=math.log(3),
            use_dynamic_shifting=True,
            time_shift_type="exponential",
            shift=1.0,
            shift_terminal=None,
            base_image_seq_len=256,
            max_image_seq_len=8192,
        )
        loaded.lora_steps = lightning_steps(lora.name)
        loaded.lora_true_cfg = 1.0


def lightning_steps(file_name: str) -> int:
    """The steps a Lightning LoRA was distilled for, from its name ("-4steps-" → 4); 8 if unnamed."""
    match = _LIGHTNING_STEPS.search(file_name)
    return int(match.group(1)) if match else 8


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def describe(options: PipelineOptions) -> dict[str, Any]:
    """The options as report parameters."""
    return {
        "model": options.source,
        "device": options.device,
        "dtype": options.dtype,
        "lora": Path(options.lora_path).name if options.lora_path else None,
    }
