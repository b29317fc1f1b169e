"""Loading the Qwen-Image-Edit pipeline (2509 or 2511) once per process, and sharing it.

The pipeline is about 57 GB in bfloat16 and takes minutes to load, so it is loaded once (by the
warm-up when the server or a GPU worker starts, else on the first edit), cached per (folder,
options) for the life of the process, and shared by every engine and request that asks for the
same thing. It is loaded straight to the GPU where diffusers allows, the LoRA fused there, then
FP8, the attention backend, the first-block cache and compilation applied, in that order (FP8
after fusing: a LoRA cannot be fused into float8 weights). One pipeline cannot run two calls at
once (it keeps per-call state such as ``_interrupt`` and the scheduler's timesteps), so each
cached pipeline carries a lock that callers hold for the duration of a call.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.qwen.model_info import ModelInfo, model_info
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


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that makes one loaded pipeline different from another (the cache key)."""

    source: str
    device: str
    dtype: str
    cpu_offload: bool = False
    compile_transformer: bool = False
    lora_path: str | None = None
    #: ``FlowMatchEulerDiscreteScheduler`` config values set over the model's (a preset's).
    scheduler_overrides: tuple[tuple[str, Any], ...] = ()
    #: torchao float8 dynamic quantisation of the transformer's linear layers.
    fp8: bool = False
    #: diffusers attention backend of the transformer (``native``, ``flash``, ``_flash_3``…).
    attention_backend: str | None = None
    #: First-block cache threshold (diffusers' ``FirstBlockCacheConfig``); ``None``: off.
    first_block_cache: float | None = None


@dataclass
class LoadedPipeline:
    """A loaded pipeline, the lock that serialises calls on it, and how it was set up."""

    pipe: QwenImageEditPlusPipeline
    options: PipelineOptions
    info: ModelInfo
    warnings: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def execution_device(self) -> torch.device:
        """Where the pipeline computes (the GPU even when the weights rest on the CPU with offload)."""
        device: torch.device = self.pipe._execution_device
        return device


#: Say what a load is doing (``"stage", "message"``); the warm-up's progress log.
LoadProgress = Callable[[str, str], None]

_CACHE: dict[PipelineOptions, LoadedPipeline] = {}
#: One lock per configuration, taken only to load it: a loaded pipeline is read without a lock.
_LOAD_LOCKS: dict[PipelineOptions, threading.Lock] = {}
_LOAD_LOCKS_GUARD = threading.Lock()


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


def get_pipeline(options: PipelineOptions, progress: LoadProgress | None = None) -> LoadedPipeline:
    """The pipeline for ``options``, loaded on first use and shared afterwards.

    A loaded pipeline is returned without taking any lock, so requests never wait on another
    configuration's load; only the first callers of one configuration wait for its load.
    """
    loaded = _CACHE.get(options)
    if loaded is not None:
        return loaded
    with _LOAD_LOCKS_GUARD:
        lock = _LOAD_LOCKS.setdefault(options, threading.Lock())
    with lock:
        loaded = _CACHE.get(options)
        if loaded is None:
            loaded = _load(options, progress or _log_progress)
            _CACHE[options] = loaded
        return loaded


def release_pipelines() -> None:
    """Forget every loaded pipeline (so its memory can be freed): for benchmarks that switch
    configurations; a server keeps its one pipeline for life."""
    with _LOAD_LOCKS_GUARD:
        _CACHE.clear()
        _LOAD_LOCKS.clear()


def _log_progress(stage: str, message: str) -> None:
    logger.info("qwen %s: %s", stage, message)


def _load(options: PipelineOptions, progress: LoadProgress) -> LoadedPipeline:
    import torch
    from diffusers import QwenImageEditPlusPipeline

    from engine.qwen.processor import ImageOnlyQwen2VLProcessor

    started = time.perf_counter()
    dtype = getattr(torch, options.dtype)
    local = Path(options.source).is_dir()
    device_map = _device_map(options)
    progress(
        "load",
        f"loading {options.source} in {options.dtype} "
        + (f"straight to {device_map}" if device_map else "to host memory"),
    )
    try:
        processor = ImageOnlyQwen2VLProcessor.from_pretrained(
            str(Path(options.source) / "processor") if local else options.source,
            **({} if local else {"subfolder": "processor"}),
        )
        pipe = QwenImageEditPlusPipeline.from_pretrained(
            options.source,
            processor=processor,
            dtype=dtype,
            # Straight to the GPU, tensor by tensor: no 41 GB host copy, no second move.
            **({"device_map": device_map} if device_map else {}),
        )
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
    check_dtype(pipe, dtype)
    pipe.set_progress_bar_config(disable=True)
    progress("load", f"loaded in {time.perf_counter() - started:.1f}s")

    loaded = LoadedPipeline(pipe=pipe, options=options, info=model_info(options.source))
    offload = options.cpu_offload and options.device != "cpu"
    if options.cpu_offload and not offload:
        loaded.warnings.append("CPU offload was asked for but the device is the CPU; it was ignored.")
    if not device_map and not offload:
        pipe.to(options.device)
    if options.lora_path:
        # Fused where the weights are: on the GPU when they were loaded there.
        _fuse_lora(pipe, Path(options.lora_path).expanduser())
        progress("lora", f"fused {Path(options.lora_path).name} on {pipe.transformer.device}")
    if options.scheduler_overrides:
        from diffusers import FlowMatchEulerDiscreteScheduler

        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(
            pipe.scheduler.config, **dict(options.scheduler_overrides)
        )
    if options.fp8:
        quantize_fp8(pipe.transformer, options.device)
        progress("fp8", "transformer quantised to float8 (torchao, dynamic activations)")
    if options.attention_backend:
        set_attention_backend(pipe.transformer, options.attention_backend)
    if options.first_block_cache is not None:
        from diffusers import FirstBlockCacheConfig

        pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=options.first_block_cache))
    if offload:
        pipe.enable_model_cpu_offload(device=options.device)
    if options.compile_transformer:
        # Regional compilation: the 60 identical blocks compile once, in seconds rather than
        # minutes, for about the speed of compiling the whole transformer. It happens on the
        # first call (the warm-up's generation).
        pipe.transformer.compile_repeated_blocks(fullgraph=True)
    return loaded


def _device_map(options: PipelineOptions) -> str | None:
    """The ``device_map`` that loads straight to the device, where diffusers takes one.

    diffusers accepts a device type (``cuda``, ``cpu``) as a pipeline's device map; with model
    CPU offload the weights must rest in host memory, and ``cuda:1`` is not a device map.
    """
    if options.cpu_offload and options.device != "cpu":
        return None
    from diffusers.pipelines.pipeline_utils import SUPPORTED_DEVICE_MAP

    return options.device if options.device in SUPPORTED_DEVICE_MAP and options.device != "balanced" else None


def check_dtype(pipe: QwenImageEditPlusPipeline, dtype: torch.dtype) -> None:
    """Refuse a transformer that did not load in ``dtype``: diffusers before 0.40 ignored
    ``dtype=`` and loaded the 20 B transformer in float32 (82 GB, out of memory on any GPU)."""
    loaded = pipe.transformer.dtype
    if loaded != dtype:
        import diffusers

        raise ModelNotFoundError(
            f"The Qwen transformer loaded in {loaded} instead of {dtype} "
            f"(diffusers {diffusers.__version__}).",
            hint="Install diffusers>=0.40 (pip install -U 'diffusers>=0.40'), which honours dtype=.",
        )


def _fuse_lora(pipe: QwenImageEditPlusPipeline, lora: Path) -> None:
    """Load and fuse a LoRA (diffusers' or lightx2v's own key format), refusing one that fits nothing.

    That the file exists and fits the preset was checked when the engine was built (presets.py)."""
    pipe.load_lora_weights(str(lora.parent), weight_name=lora.name, adapter_name="imgedit")
    if "imgedit" not in pipe.get_list_adapters().get("transformer", []):
        raise BadInputError(
            f"The LoRA file {lora} has no weights for this model's transformer.",
            hint="Use a LoRA made for Qwen-Image-Edit (e.g. lightx2v's Lightning LoRAs), "
            "or unset IMGEDIT_QWEN_LORA.",
        )
    # Fused weights cost nothing per step; the LoRA is fixed for the life of this pipeline.
    pipe.fuse_lora(adapter_names=["imgedit"])
    pipe.unload_lora_weights()


def check_fp8(device: str) -> None:
    """Refuse FP8 where it cannot run: without torchao (not a dependency: its builds follow
    torch's) or off a CUDA GPU."""
    try:
        import torchao.quantization  # noqa: F401
    except ImportError:
        raise BadInputError(
            "IMGEDIT_QWEN_FP8 needs torchao, which is not installed.",
            hint="pip install torchao (a build matching this torch), or unset IMGEDIT_QWEN_FP8.",
        ) from None
    if not device.startswith("cuda"):
        raise BadInputError(
            f"IMGEDIT_QWEN_FP8 needs a CUDA GPU with FP8 (H100, H200, L40S); the device is {device}.",
            hint="Unset IMGEDIT_QWEN_FP8.",
        )


def quantize_fp8(transformer: Any, device: str) -> None:
    """torchao float8 dynamic quantisation (float8 weights, per-row scaled float8 activations) of
    the transformer's linear layers: Hopper's FP8 tensor cores, half the weight memory."""
    check_fp8(device)
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

    quantize_(transformer, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()))


def attention_backends() -> list[str]:
    """The attention backend names this diffusers knows (installed or not)."""
    from diffusers.models.attention_dispatch import AttentionBackendName

    return [backend.value for backend in AttentionBackendName]


def set_attention_backend(transformer: Any, name: str) -> None:
    """Switch the transformer's attention backend, as a clear error when it cannot run here."""
    known = attention_backends()
    if name not in known:
        raise BadInputError(
            f"Unknown attention backend '{name}'.",
            hint=f"IMGEDIT_QWEN_ATTENTION_BACKEND is one of {', '.join(known)}; 'native' is PyTorch's SDPA.",
        )
    try:
        transformer.set_attention_backend(name)
    except (ImportError, RuntimeError, ValueError) as exc:
        raise BadInputError(
            f"The attention backend '{name}' cannot run here: {str(exc).splitlines()[0]}",
            hint="Install its package (flash-attn for 'flash', FlashAttention 3 for '_flash_3') or unset "
            "IMGEDIT_QWEN_ATTENTION_BACKEND.",
        ) from exc


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def describe(loaded: LoadedPipeline) -> dict[str, Any]:
    """How the pipeline was set up, as report parameters: which model ran, where, how."""
    options = loaded.options
    return {
        "model": options.source,
        "model_name": loaded.info.name,
        "model_revision": loaded.info.revision,
        "device": options.device,
        "dtype": options.dtype,
        "lora": Path(options.lora_path).name if options.lora_path else None,
    }
