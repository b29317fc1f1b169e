"""The qwen engine on a real CUDA GPU, with the tiny pipeline (tests/qwen_tiny.py) in bfloat16.

Marked ``gpu``: deselected where there is no CUDA GPU (tests/conftest.py), run by
scripts/gpu-check.sh on a lent one. They check what the CPU tests cannot: loading straight to the
GPU, the LoRA fused there, compilation during the warm-up, the attention backends installed here,
and FP8 where torchao is installed. The real model's figures come from bench/qwen_real.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.plan import EditPlan, Generative
from engine.qwen import QwenEngine
from engine.types import EditRequest
from imgedit.errors import BadInputError
from tests.conftest import TINY_AREA
from tests.qwen_tiny import save_tiny_lora

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _small_inputs(small_pipeline_inputs: None) -> None:
    """The tiny pipeline at tiny input areas."""


def edit(engine: QwenEngine, steps: int = 2) -> Image.Image:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (48, 80, 3), dtype=np.uint8))
    request = EditRequest(images=[image], instruction="add a moon", seed=0, steps=steps)
    plan = EditPlan(instruction="add a moon", operations=[Generative(description="add a moon")])
    out = engine.run(request, plan)
    assert out.image.size == (80, 48)
    return out.image


def test_loads_straight_to_the_gpu_in_bfloat16_and_warms_up(tiny_model: Path) -> None:
    torch.cuda.reset_peak_memory_stats()
    engine = QwenEngine(str(tiny_model), device="cuda", target_area=TINY_AREA, default_steps=2)
    stages: list[str] = []
    engine.warm_up(lambda stage, message: stages.append(stage))
    assert stages[-1] == "ready"
    pipe = engine.pipeline().pipe
    assert {p.device.type for p in pipe.transformer.parameters()} == {"cuda"}
    assert {p.dtype for p in pipe.transformer.parameters()} == {torch.bfloat16}
    assert pipe.vae.device.type == "cuda" and pipe.text_encoder.device.type == "cuda"
    # GPU kernels need not be bit-for-bit repeatable, so only the edit itself is checked here
    # (the CPU tests check that a seed repeats an edit).
    assert np.asarray(edit(engine)).std() > 0


def test_lightx2v_lora_is_fused_on_the_gpu(tiny_model: Path, tmp_path: Path) -> None:
    from diffusers import QwenImageTransformer2DModel

    lora = save_tiny_lora(tiny_model, tmp_path / "l.safetensors", lightx2v_keys=True, metadata={"steps": "4"})
    engine = QwenEngine(
        str(tiny_model), device="cuda", target_area=TINY_AREA, preset="lightning-4", lora_path=str(lora)
    )
    edit(engine, steps=4)
    pipe = engine.pipeline().pipe
    fused = pipe.transformer.transformer_blocks[0].attn.to_q.weight
    assert fused.device.type == "cuda"
    base = QwenImageTransformer2DModel.from_pretrained(tiny_model / "transformer", dtype=torch.bfloat16)
    assert not torch.allclose(fused.cpu(), base.transformer_blocks[0].attn.to_q.weight)


def test_compiled_transformer_runs_after_the_warm_up(tiny_model: Path) -> None:
    engine = QwenEngine(
        str(tiny_model), device="cuda", target_area=TINY_AREA, compile_transformer=True, default_steps=2
    )
    warm = engine.warm_up()
    assert warm.generate_seconds > 0
    edit(engine)


def installed_attention_backends() -> list[str]:
    backends = ["native", "_native_cudnn", "_native_flash", "_native_efficient"]
    if importlib.util.find_spec("flash_attn") is not None:
        backends.append("flash")
    if importlib.util.find_spec("flash_attn_interface") is not None:
        backends.append("_flash_3")
    return backends


@pytest.mark.parametrize("backend", installed_attention_backends())
def test_attention_backend_runs(tiny_model: Path, backend: str) -> None:
    engine = QwenEngine(
        str(tiny_model), device="cuda", target_area=TINY_AREA, attention_backend=backend, default_steps=2
    )
    edit(engine)


def test_fp8_runs_where_torchao_is_installed(tiny_model: Path) -> None:
    if importlib.util.find_spec("torchao") is None:
        with pytest.raises(BadInputError, match="needs torchao"):
            QwenEngine(str(tiny_model), device="cuda", fp8=True)
        return
    engine = QwenEngine(str(tiny_model), device="cuda", target_area=TINY_AREA, fp8=True, default_steps=2)
    edit(engine)
