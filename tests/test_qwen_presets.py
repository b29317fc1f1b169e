"""Deploying the qwen engine: presets and the LoRA check, dtype, Edit-2511, speed settings, warm-up.

All on the tiny randomly initialised pipeline (tests/qwen_tiny.py) on the CPU, loaded through the
backend's real loading path; the LoRAs are random tensors written in lightx2v's own key format.
"""

from __future__ import annotations

import math
import shutil
import sys
import threading
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine import Editor
from engine.plan import EditPlan, Generative
from engine.qwen import QwenEngine
from engine.qwen.loader import check_dtype
from engine.types import EditRequest
from imgedit.errors import BadInputError, ModelNotFoundError
from tests.conftest import TINY_AREA, TINY_CONDITION_AREA
from tests.qwen_tiny import save_tiny_lora, save_tiny_model

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def _small_inputs(small_pipeline_inputs: None) -> None:
    """Every test here runs the tiny pipeline at tiny input areas."""


def photo(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def edit(engine: QwenEngine, **kw: object):
    steps: list[tuple[int, int]] = []
    request = EditRequest(images=[photo(80, 48)], instruction="add a moon", seed=0, **kw)  # type: ignore[arg-type]
    plan = EditPlan(instruction="add a moon", operations=[Generative(description="add a moon")])
    out = engine.run(request, plan, progress=lambda done, total: steps.append((done, total)))
    return out, steps


def lightning_lora(tiny_model: Path, folder: Path, steps: int | None, name: str = "lora.safetensors") -> Path:
    """A Lightning-like LoRA in lightx2v's key format; ``steps`` goes into its metadata."""
    metadata = {"distilled_steps": str(steps)} if steps is not None else None
    return save_tiny_lora(tiny_model, folder / name, lightx2v_keys=True, metadata=metadata)


# -- presets ---------------------------------------------------------------------------------


def test_quality_preset_is_40_steps_with_true_cfg_4(tiny_model: Path) -> None:
    engine = QwenEngine(str(tiny_model), target_area=TINY_AREA)
    out, steps = edit(engine)
    assert steps[-1] == (40, 40)
    assert out.parameters["preset"] == "quality"
    assert out.parameters["true_cfg_scale"] == 4.0
    assert out.parameters["negative_prompt"] == " "
    config = engine.pipeline().pipe.scheduler.config
    assert not config.use_dynamic_shifting  # the model's own scheduler
    assert not out.warnings


@pytest.mark.parametrize("distilled", [8, 4])
def test_lightning_presets_fuse_a_lightx2v_lora_with_its_scheduler(
    tiny_model: Path, tmp_path: Path, distilled: int
) -> None:
    from diffusers import QwenImageTransformer2DModel

    lora = lightning_lora(tiny_model, tmp_path, distilled)
    engine = QwenEngine(
        str(tiny_model), target_area=TINY_AREA, preset=f"lightning-{distilled}", lora_path=str(lora)
    )
    out, steps = edit(engine)
    assert steps[-1] == (distilled, distilled)
    assert out.parameters["steps"] == distilled
    assert out.parameters["true_cfg_scale"] == 1.0
    assert out.parameters["negative_prompt"] is None  # CFG off: no negative branch at all
    assert out.parameters["preset"] == f"lightning-{distilled}"
    assert not out.warnings
    pipe = engine.pipeline().pipe
    config = pipe.scheduler.config
    assert config.shift == 1.0
    assert config.base_shift == pytest.approx(math.log(3))
    assert config.max_shift == pytest.approx(math.log(3))
    assert config.use_dynamic_shifting is True
    assert config.time_shift_type == "exponential"
    # lightx2v's keys (diffusion_model. prefix, lora_down / lora_up / alpha) were read and fused.
    base = QwenImageTransformer2DModel.from_pretrained(tiny_model / "transformer")
    for block in (0, 1):
        fused = pipe.transformer.transformer_blocks[block].attn.to_v.weight
        assert not torch.allclose(fused, base.transformer_blocks[block].attn.to_v.weight)
    untouched = pipe.transformer.transformer_blocks[0].attn.to_k.weight
    assert torch.allclose(untouched, base.transformer_blocks[0].attn.to_k.weight)


def test_overriding_a_distilled_preset_warns_in_the_report(tiny_model: Path, tmp_path: Path) -> None:
    lora = lightning_lora(tiny_model, tmp_path, 4)
    engine = QwenEngine(str(tiny_model), target_area=TINY_AREA, preset="lightning-4", lora_path=str(lora))
    out, steps = edit(engine, steps=6)
    assert steps[-1] == (6, 6)
    assert any("distilled for 4 steps" in warning and "6 steps" in warning for warning in out.warnings)
    out, _ = edit(engine, guidance=2.5)
    assert out.parameters["negative_prompt"] == " "
    assert any("true CFG 2.5" in warning for warning in out.warnings)
    # The quality preset is not distilled: other steps are the user's business, no warning.
    quality = QwenEngine(str(tiny_model), target_area=TINY_AREA)
    assert not edit(quality, steps=3)[0].warnings


def test_a_lora_without_step_metadata_is_named_by_a_setting(tiny_model: Path, tmp_path: Path) -> None:
    lora = lightning_lora(
        tiny_model, tmp_path, None, name="Qwen-Image-Edit-2509-Lightning-8steps.safetensors"
    )
    # The file name is not evidence: without metadata or the setting the start is refused.
    with pytest.raises(BadInputError, match="IMGEDIT_QWEN_LORA_STEPS=8"):
        QwenEngine(str(tiny_model), preset="lightning-8", lora_path=str(lora))
    engine = QwenEngine(
        str(tiny_model), target_area=TINY_AREA, preset="lightning-8", lora_path=str(lora), lora_steps=8
    )
    assert edit(engine)[1][-1] == (8, 8)


@pytest.mark.parametrize(
    ("preset", "lora_steps", "setting", "message"),
    [
        ("lightning-8", 4, None, "needs a LoRA distilled for 8 steps"),
        ("lightning-4", None, 8, "needs a LoRA distilled for 4 steps"),
        ("quality", 8, None, "distilled for 8 steps"),
        ("lightning-4", 4, 8, "IMGEDIT_QWEN_LORA_STEPS is 8"),
        ("lightning-8", "none", None, "no LoRA is set"),
    ],
)
def test_a_preset_and_lora_mismatch_stops_the_start(
    tiny_model: Path,
    tmp_path: Path,
    preset: str,
    lora_steps: int | str | None,
    setting: int | None,
    message: str,
) -> None:
    lora = None if lora_steps == "none" else lightning_lora(tiny_model, tmp_path, lora_steps)  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match=message):
        QwenEngine(str(tiny_model), preset=preset, lora_path=str(lora) if lora else None, lora_steps=setting)


def test_preset_comes_from_the_settings(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgedit.config import get_settings

    lora = lightning_lora(tiny_model, tmp_path, 4)
    monkeypatch.setenv("IMGEDIT_QWEN_PRESET", "lightning-4")
    monkeypatch.setenv("IMGEDIT_QWEN_LORA", str(lora))
    get_settings.cache_clear()
    editor = Editor(engine="qwen", model_path=str(tiny_model), target_area=TINY_AREA)
    result = editor.edit(image=photo(64, 64), prompt="把背景换成海边", enable_semantic_preserve=False, seed=0)
    assert result.report.parameters["preset"] == "lightning-4"
    assert result.report.parameters["steps"] == 4
    monkeypatch.setenv("IMGEDIT_QWEN_PRESET", "lightning-8")
    get_settings.cache_clear()
    with pytest.raises(BadInputError, match="lightning-4"):
        Editor(engine="qwen", model_path=str(tiny_model)).backend("qwen")


# -- dtype -----------------------------------------------------------------------------------


def test_the_transformer_loads_in_bfloat16(tiny_model: Path) -> None:
    major, minor = (int(part) for part in version("diffusers").split(".")[:2])
    assert (major, minor) >= (0, 40)  # the first diffusers whose from_pretrained honours dtype=
    engine = QwenEngine(str(tiny_model), target_area=TINY_AREA, dtype="bfloat16", default_steps=1)
    out, _ = edit(engine)
    assert out.parameters["dtype"] == "bfloat16"
    pipe = engine.pipeline().pipe
    assert pipe.transformer.dtype == torch.bfloat16
    assert {p.dtype for p in pipe.transformer.parameters()} == {torch.bfloat16}
    # A transformer that came back in float32 (what diffusers < 0.40 did with dtype=) is refused.
    with pytest.raises(ModelNotFoundError, match=r"diffusers>=0\.40"):
        check_dtype(QwenEngine(str(tiny_model), target_area=TINY_AREA).pipeline().pipe, torch.bfloat16)


# -- which model ran -------------------------------------------------------------------------


def test_edit_2511_from_a_hub_download_says_which_model_ran(tmp_path: Path) -> None:
    folder = save_tiny_model(tmp_path / "Qwen-Image-Edit-2511", edit_2511=True)
    # What `hf download --local-dir` leaves next to the files: the commit on the first line.
    marker = folder / ".cache" / "huggingface" / "download" / "model_index.json.metadata"
    marker.parent.mkdir(parents=True)
    marker.write_text(f"{COMMIT}\nabc\n1766000000.0\n", encoding="utf-8")
    lora = lightning_lora(
        folder, tmp_path, 4, name="Qwen-Image-Edit-2511-Lightning-4steps-V1.0-bf16.safetensors"
    )
    engine = QwenEngine(str(folder), target_area=TINY_AREA, preset="lightning-4", lora_path=str(lora))
    out, steps = edit(engine)
    assert steps[-1] == (4, 4)
    assert engine.pipeline().pipe.transformer.config.zero_cond_t is True
    assert out.parameters["model_name"] == "Qwen-Image-Edit-2511"
    assert out.parameters["model_revision"] == COMMIT
    assert out.image.size == (80, 48)


def test_a_hub_cache_snapshot_folder_names_its_revision(tiny_model: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "hub" / "models--Qwen--Qwen-Image-Edit-2509" / "snapshots" / COMMIT
    shutil.copytree(tiny_model, snapshot)
    out, _ = edit(QwenEngine(str(snapshot), target_area=TINY_AREA, default_steps=1))
    assert out.parameters["model_name"] == "Qwen-Image-Edit-2509"
    assert out.parameters["model_revision"] == COMMIT


# -- sizes -----------------------------------------------------------------------------------


def test_a_target_area_off_the_reference_grid_warns(tiny_model: Path) -> None:
    engine = QwenEngine(str(tiny_model), target_area=96 * 96, default_steps=1)
    out, _ = edit(engine)
    assert any("zoomed or shifted" in warning for warning in out.warnings)
    # By default the output is generated on the grid the input is encoded at.
    tied = QwenEngine(str(tiny_model), default_steps=1)
    assert tied.target_area == TINY_AREA
    out, _ = edit(tied)
    assert not out.warnings
    assert (out.parameters["width"], out.parameters["height"]) == (96, 64)


def test_pipeline_input_areas_are_set_only_under_the_lock(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two configurations with different input areas, edited at once: each call reads its own
    areas, and the module's values are back to the pipeline's once both are done."""
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as module

    from imgedit.config import Settings

    before = (module.VAE_IMAGE_SIZE, module.CONDITION_IMAGE_SIZE)
    small = QwenEngine(str(tiny_model), default_steps=3)
    other = QwenEngine(
        str(tiny_model),
        default_steps=3,
        settings=Settings(qwen_vae_image_area=96 * 96, qwen_condition_image_area=TINY_CONDITION_AREA),
    )
    seen: dict[str, list[tuple[int, int]]] = {"small": [], "other": []}

    def run(name: str, engine: QwenEngine) -> None:
        def progress(done: int, total: int) -> None:
            seen[name].append((module.VAE_IMAGE_SIZE, module.CONDITION_IMAGE_SIZE))

        request = EditRequest(images=[photo(80, 48)], instruction="add a moon", seed=0)
        plan = EditPlan(instruction="add a moon", operations=[Generative(description="add a moon")])
        engine.run(request, plan, progress=progress)

    threads = [threading.Thread(target=run, args=item) for item in (("small", small), ("other", other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen["small"] == [(TINY_AREA, TINY_CONDITION_AREA)] * 3
    assert seen["other"] == [(96 * 96, TINY_CONDITION_AREA)] * 3
    assert before == (module.VAE_IMAGE_SIZE, module.CONDITION_IMAGE_SIZE)


# -- further speed settings ------------------------------------------------------------------


def test_attention_backend_and_first_block_cache_are_applied(tiny_model: Path) -> None:
    from diffusers.hooks import HookRegistry

    engine = QwenEngine(
        str(tiny_model),
        target_area=TINY_AREA,
        attention_backend="native",
        first_block_cache=0.2,
        default_steps=3,
    )
    out, steps = edit(engine)
    assert steps[-1] == (3, 3) and out.image.size == (80, 48)
    transformer = engine.pipeline().pipe.transformer
    assert transformer.is_cache_enabled
    assert HookRegistry.check_if_exists_or_initialize(transformer.transformer_blocks[0]).hooks
    with pytest.raises(BadInputError, match="Unknown attention backend 'flashy'"):
        QwenEngine(str(tiny_model), attention_backend="flashy")


def test_first_block_cache_is_off_for_a_distilled_preset(tiny_model: Path, tmp_path: Path) -> None:
    lora = lightning_lora(tiny_model, tmp_path, 4)
    engine = QwenEngine(
        str(tiny_model),
        target_area=TINY_AREA,
        preset="lightning-4",
        lora_path=str(lora),
        first_block_cache=0.2,
    )
    assert engine.options.first_block_cache is None
    out, _ = edit(engine)
    assert any("first-block cache" in warning for warning in out.warnings)


def test_fp8_without_torchao_is_a_clear_start_error(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torchao", None)  # as if torchao were not installed
    monkeypatch.setitem(sys.modules, "torchao.quantization", None)
    with pytest.raises(BadInputError, match="needs torchao") as info:
        QwenEngine(str(tiny_model), fp8=True, device="cpu")
    assert "pip install torchao" in str(info.value.hint)


# -- warm start ------------------------------------------------------------------------------


def test_warm_up_loads_and_generates_once_with_a_progress_log(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)  # a configuration no other test has loaded
    editor = Editor(engine="qwen", model_path=str(folder), target_area=TINY_AREA)
    stages: list[str] = []
    warm = editor.warm_up(progress=lambda stage, message: stages.append(stage))
    assert warm is not None and warm.model == "Qwen-Image-Edit-2509"
    assert stages[0] == "load" and stages[-2:] == ["generate", "ready"]
    engine = editor.backend("qwen")
    assert isinstance(engine, QwenEngine)
    loaded = engine.pipeline()
    result = editor.edit(image=photo(64, 64), prompt="把背景换成海边", enable_semantic_preserve=False, seed=0,
                         num_inference_steps=1)  # fmt: skip
    assert result.report.engine == "qwen"
    assert engine.pipeline() is loaded  # the edit used the warmed pipeline
    # A classic editor has nothing to warm.
    assert Editor(engine="classic").warm_up() is None
