"""The qwen backend, run for real on a tiny randomly initialised Qwen-Image-Edit-2509 (CPU).

The tiny model (tests/qwen_tiny.py) is written to disk once per session in the real folder
layout and loaded through the backend's own loading path. Its pictures are noise, so these tests
check what does not depend on weights: sizes, progress, cancellation, seeds, loading and errors.
The pipeline module's input areas are shrunk (a speed knob of the pipeline, not a mock).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from engine import Editor
from engine.plan import Crop, EditPlan, Generative, Rotate, Theme
from engine.qwen import QwenEngine
from engine.qwen.prompt import name_pictures
from engine.qwen.sizing import generation_size
from engine.types import CancelToken, EditRequest
from imgedit.errors import BadInputError, EditAreaExceededError, EditCancelledError, ModelNotFoundError
from tests.conftest import TINY_AREA, TINY_CONDITION_AREA
from tests.qwen_tiny import save_tiny_lora


@pytest.fixture(autouse=True)
def _small_inputs(small_pipeline_inputs: None) -> None:
    """Every test here runs the tiny pipeline at tiny input areas."""


@pytest.fixture
def engine(tiny_model: Path) -> QwenEngine:
    return QwenEngine(str(tiny_model), target_area=TINY_AREA, default_steps=2)


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def generative(instruction: str) -> EditPlan:
    return EditPlan(instruction=instruction, operations=[Generative(description=instruction)])


def edit(engine: QwenEngine, images: list[Image.Image], instruction: str = "make the sky pink", **kw: object):
    request = EditRequest(images=images, instruction=instruction, **kw)  # type: ignore[arg-type]
    return engine.run(request, generative(instruction))


# -- sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(97, 61), (61, 97), (200, 123)])
def test_output_has_the_input_size(engine: QwenEngine, size: tuple[int, int]) -> None:
    out = edit(engine, [photo(*size)], seed=0)
    assert out.image.size == size
    assert out.image.mode == "RGB"
    # Generated at about the target area, at the input's aspect, sides multiples of 32.
    width, height = out.parameters["width"], out.parameters["height"]
    assert width % 32 == 0 and height % 32 == 0
    assert (width >= height) == (size[0] >= size[1])


def test_generation_size_is_about_one_megapixel_at_the_input_aspect() -> None:
    assert generation_size((1080, 1920)) == (768, 1376)
    assert generation_size((1024, 1024)) == (1024, 1024)
    width, height = generation_size((4000, 3000))
    assert abs(width * height - 1024 * 1024) / (1024 * 1024) < 0.05
    assert generation_size((5000, 100)) == (7232, 160)  # a banner keeps its aspect
    assert generation_size((10, 5000), target_area=64 * 64) == (32, 1440)


def test_large_input_gets_a_warning(engine: QwenEngine) -> None:
    out = edit(engine, [photo(150, 140)], seed=0)  # 5x the tiny target area
    assert out.image.size == (150, 140)
    assert any("regenerated" in warning for warning in out.warnings)
    assert not edit(engine, [photo(70, 60)], seed=0).warnings


# -- several images --------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3])
def test_one_to_three_images(engine: QwenEngine, count: int) -> None:
    images = [photo(97, 61, seed=0), photo(50, 80, seed=1), photo(64, 64, seed=2)][:count]
    out = edit(engine, images, "put the hat from the second image on the person in image 1", seed=3)
    assert out.image.size == (97, 61)  # the first image is the one edited
    if count > 1:
        assert out.parameters["prompt"] == "put the hat from Picture 2 on the person in Picture 1"


def test_image_references_become_picture_n() -> None:
    assert name_pictures("Put the dress from the second image on the woman in the first photo") == (
        "Put the dress from Picture 2 on the woman in Picture 1"
    )
    assert name_pictures("把图2的帽子戴到第一张图的人头上") == "把Picture 2的帽子戴到Picture 1的人头上"
    assert name_pictures("Picture 3 background") == "Picture 3 background"


# -- progress and cancellation ---------------------------------------------------------------


def test_progress_is_reported_for_every_step_in_order(engine: QwenEngine) -> None:
    calls: list[tuple[int, int]] = []
    request = EditRequest(images=[photo(80, 48)], instruction="add a moon", seed=0, steps=4)
    engine.run(request, generative("add a moon"), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_cancel_stops_at_the_next_step(engine: QwenEngine) -> None:
    token = CancelToken()
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if done == 2:
            token.cancel()

    request = EditRequest(images=[photo(80, 48)], instruction="add a moon", seed=0, steps=5)
    with pytest.raises(EditCancelledError):
        engine.run(request, generative("add a moon"), progress=progress, cancel=token)
    assert calls == [(1, 5), (2, 5)]
    # The shared pipeline is still usable afterwards.
    assert edit(engine, [photo(80, 48)], seed=0).image.size == (80, 48)


def test_cancelled_before_start_does_no_work(engine: QwenEngine) -> None:
    token = CancelToken()
    token.cancel()
    calls: list[tuple[int, int]] = []
    request = EditRequest(images=[photo(80, 48)], instruction="add a moon")
    with pytest.raises(EditCancelledError):
        engine.run(
            request, generative("add a moon"), progress=lambda d, t: calls.append((d, t)), cancel=token
        )
    assert calls == []


# -- seeds, defaults and sharing -------------------------------------------------------------


def test_seed_makes_edits_repeatable(engine: QwenEngine) -> None:
    image = photo(97, 61)
    first = edit(engine, [image], seed=7)
    again = edit(engine, [image], seed=7)
    other = edit(engine, [image], seed=8)
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))
    assert not np.array_equal(np.asarray(first.image), np.asarray(other.image))


def test_random_seed_is_recorded_and_reproduces_the_edit(engine: QwenEngine) -> None:
    image = photo(97, 61)
    unseeded = edit(engine, [image])
    seed = unseeded.parameters["seed"]
    assert isinstance(seed, int)
    replay = edit(engine, [image], seed=seed)
    assert np.array_equal(np.asarray(unseeded.image), np.asarray(replay.image))


def test_parameters_report_how_the_edit_was_made(tiny_model: Path) -> None:
    engine = QwenEngine(str(tiny_model), target_area=TINY_AREA)
    request = EditRequest(images=[photo(64, 64)], instruction="add a moon", seed=1, steps=2, guidance=2.5)
    params = engine.run(request, generative("add a moon")).parameters
    assert params == {
        "prompt": "add a moon",
        "negative_prompt": " ",  # true CFG is on only with a negative prompt
        "steps": 2,
        "true_cfg_scale": 2.5,
        "width": 64,
        "height": 64,
        "seed": 1,
        "preset": "quality",
        "model": str(tiny_model),
        "model_name": "Qwen-Image-Edit-2509",
        "model_revision": None,
        "device": "cpu",
        "dtype": "float32",
        "lora": None,
    }
    # Defaults: 40 steps and true CFG 4 unless the request or the engine say otherwise.
    assert engine.default_steps is None
    no_cfg = EditRequest(images=[photo(64, 64)], instruction="add a moon", seed=1, steps=1, guidance=1.0)
    assert engine.run(no_cfg, generative("add a moon")).parameters["negative_prompt"] is None


def test_pipeline_is_loaded_once_and_shared(tiny_model: Path) -> None:
    one = QwenEngine(str(tiny_model), target_area=TINY_AREA, default_steps=2)
    two = QwenEngine(str(tiny_model), target_area=TINY_AREA, default_steps=2)
    edit(one, [photo(64, 64)], seed=0)
    edit(two, [photo(64, 64)], seed=0)
    assert one.pipeline() is two.pipeline()
    assert one.pipeline().pipe is two.pipeline().pipe


def test_concurrent_edits_on_one_pipeline_are_serialised(engine: QwenEngine) -> None:
    image = photo(97, 61)
    expected = np.asarray(edit(engine, [image], seed=5).image)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(np.asarray(edit(engine, [image], seed=5).image))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 3
    assert all(np.array_equal(result, expected) for result in results)


def test_theme_plans_use_the_theme_prompt(engine: QwenEngine) -> None:
    from engine.themes import get_theme

    plan = EditPlan(instruction="换成赛博朋克风格", operations=[Theme(name="cyberpunk")])
    request = EditRequest(images=[photo(64, 64)], instruction="换成赛博朋克风格", seed=0)
    out = engine.run(request, plan)
    assert out.parameters["prompt"] == get_theme("cyberpunk").prompt


def test_geometry_is_exact_after_the_generative_part(engine: QwenEngine) -> None:
    plan = EditPlan(
        instruction="crop to 1:1 and make the sky pink",
        operations=[
            Crop(aspect="1:1", source="crop to 1:1"),
            Generative(description="x", source="make the sky pink"),
        ],
    )
    request = EditRequest(images=[photo(97, 61)], instruction=plan.instruction, seed=0)
    out = engine.run(request, plan)
    assert out.image.size == (61, 61)
    assert out.parameters["prompt"] == "make the sky pink"


def test_geometry_alone_never_loads_the_model(tiny_model: Path, tmp_path: Path) -> None:
    # Loading this engine's pipeline would fail (its LoRA file holds no weights), so success
    # shows the model was not touched.
    empty = tmp_path / "empty.safetensors"
    save_file({}, str(empty))
    engine = QwenEngine(str(tiny_model), lora_path=str(empty))
    with pytest.raises(BadInputError):
        engine.pipeline()
    plan = EditPlan(instruction="旋转90度", operations=[Rotate(degrees=90)])
    image = photo(97, 61)
    out = engine.run(EditRequest(images=[image], instruction="旋转90度"), plan)
    assert out.image.size == (61, 97)
    assert out.parameters == {"geometry": ["rotate"]}


# -- LoRA ------------------------------------------------------------------------------------


def test_a_lora_is_fused_into_the_transformer(tiny_model: Path, tmp_path: Path) -> None:
    from diffusers import QwenImageTransformer2DModel

    lora = save_tiny_lora(tiny_model, tmp_path / "style.safetensors")
    base = QwenImageTransformer2DModel.from_pretrained(tiny_model / "transformer")
    engine = QwenEngine(str(tiny_model), target_area=TINY_AREA, lora_path=str(lora), default_steps=2)
    out = edit(engine, [photo(97, 61)], seed=0)
    assert out.image.size == (97, 61)
    assert out.parameters["lora"] == "style.safetensors"
    pipe = engine.pipeline().pipe
    assert not pipe.get_list_adapters()  # fused, then the adapter itself unloaded
    fused = pipe.transformer.transformer_blocks[0].attn.to_q.weight
    assert not torch.allclose(fused, base.transformer_blocks[0].attn.to_q.weight)


def test_missing_lora_file_is_a_clear_error(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"nope\.safetensors"):
        QwenEngine(str(tiny_model), target_area=TINY_AREA, lora_path=str(tmp_path / "nope.safetensors"))


# -- model folder errors ---------------------------------------------------------------------


def test_missing_model_folder_names_the_path_and_the_layout(tmp_path: Path) -> None:
    folder = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as info:
        QwenEngine(str(folder))
    assert str(folder) in info.value.message
    assert "does not exist" in info.value.message
    for part in ("model_index.json", "transformer/", "vae/", "text_encoder/", "processor/"):
        assert part in str(info.value.hint)


def test_incomplete_model_folder_names_what_is_missing(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "partial"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("vae", "model_index.json"))
    (folder / "processor").mkdir(exist_ok=True)
    for leftover in (folder / "processor").iterdir():
        leftover.unlink()
    with pytest.raises(ModelNotFoundError) as info:
        QwenEngine(str(folder))
    message = info.value.message
    assert str(folder) in message
    assert "model_index.json" in message and "vae/" in message and "processor/" in message
    assert "transformer/" not in message


def test_a_file_is_not_a_model_folder(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelNotFoundError, match="is a file"):
        QwenEngine(str(path))


# -- through the Editor ----------------------------------------------------------------------


def test_editor_qwen_returns_the_input_size(tiny_model: Path) -> None:
    editor = Editor(engine="qwen", model_path=str(tiny_model), target_area=TINY_AREA)
    image = photo(123, 77)
    result = editor.edit(
        image=image,
        prompt="把她的裙子换成汉服",
        enable_semantic_preserve=False,
        seed=0,
        num_inference_steps=2,
    )
    assert result.image.size == (123, 77)
    assert result.report.engine == "qwen"
    assert result.report.parameters["seed"] == 0
    assert result.report.parameters["steps"] == 2
    assert result.report.output_size == (123, 77)


def test_editor_refuses_a_local_edit_that_repaints_too_much(tiny_model: Path) -> None:
    editor = Editor(engine="qwen", model_path=str(tiny_model), target_area=TINY_AREA)
    with pytest.raises(EditAreaExceededError):
        editor.edit(
            image=photo(96, 64),
            prompt="把她的裙子换成汉服",
            seed=0,
            num_inference_steps=2,
            max_edit_area=0.05,
        )


# -- the command line ------------------------------------------------------------------------


def _cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        IMGEDIT_HOME=str(home),
        IMGEDIT_NSFW_CHECK="0",
        IMGEDIT_QWEN_TARGET_AREA=str(TINY_AREA),
        IMGEDIT_QWEN_VAE_IMAGE_AREA=str(TINY_AREA),
        IMGEDIT_QWEN_CONDITION_IMAGE_AREA=str(TINY_CONDITION_AREA),
    )
    return env


def _imgedit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from cli.main import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_cli_edit_with_the_qwen_engine(tiny_model: Path, tmp_path: Path, imgedit_home: Path) -> None:
    source = tmp_path / "in.png"
    photo(101, 67).save(source)
    output = tmp_path / "out.png"
    done = _imgedit(
        "edit", str(source), "把背景换成海边", "-o", str(output),
        "--engine", "qwen", "--model", str(tiny_model),
        "--steps", "2", "--seed", "3", "--no-preserve", "--json",
        env=_cli_env(imgedit_home),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["engine"] == "qwen"
    assert report["parameters"]["steps"] == 2
    assert report["parameters"]["seed"] == 3
    assert report["output_size"] == [101, 67]
    with Image.open(output) as written:
        assert written.size == (101, 67)


def test_cli_hub_id_offline_is_a_clear_error(tmp_path: Path, imgedit_home: Path) -> None:
    source = tmp_path / "in.png"
    photo(64, 64).save(source)
    done = _imgedit(
        "edit", str(source), "把背景换成海边", "-o", str(tmp_path / "out.png"),
        "--engine", "qwen", "--model", "nobody-here/no-such-model",
        env=_cli_env(imgedit_home),
    )  # fmt: skip
    assert done.returncode == 2
    assert "nobody-here/no-such-model" in done.stderr
    assert "HF_HUB_OFFLINE" in done.stderr
    assert "Traceback" not in done.stderr
