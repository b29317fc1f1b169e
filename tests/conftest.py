"""Shared test fixtures: an isolated IMGEDIT_HOME per test and real photographs from skimage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from engine import Editor
from engine.samples import sample_photo
from imgedit.config import Settings, get_settings

if TYPE_CHECKING:
    from agent import ChatAgent


@pytest.fixture(autouse=True)
def imgedit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data folder and fresh settings; the NSFW check stays on only
    where a test turns it on (it is exercised by tests/test_safety.py)."""
    home = tmp_path / "imgedit-home"
    monkeypatch.setenv("IMGEDIT_HOME", str(home))
    monkeypatch.setenv("IMGEDIT_NSFW_CHECK", "0")
    for key in ("IMGEDIT_ENGINE", "IMGEDIT_QWEN_MODEL", "IMGEDIT_LLM", "IMGEDIT_MAX_EDIT_AREA"):
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def skimage_photo(name: str = "astronaut") -> Image.Image:
    """A real photograph shipped inside scikit-image's wheel (offline)."""
    return sample_photo(name)


@pytest.fixture
def astronaut() -> Image.Image:
    return skimage_photo("astronaut")


@pytest.fixture
def coffee() -> Image.Image:
    return skimage_photo("coffee")


# -- the chat agent on the classic engine, shared by the agent tests ------------------------------


@pytest.fixture(scope="module")
def classic() -> Editor:
    return Editor(engine="classic")


@pytest.fixture
def agent(classic: Editor) -> ChatAgent:
    """A fresh agent (its own session store under this test's IMGEDIT_HOME) on the classic engine."""
    from agent import ChatAgent

    return ChatAgent(editor=classic)


# -- the tiny Qwen-Image-Edit pipeline (tests/qwen_tiny.py), shared by engine and agent tests ------

TINY_AREA = 64 * 64
TINY_CONDITION_AREA = 56 * 56


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised pipeline saved in diffusers layout, built once per test run."""
    from tests.qwen_tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("qwen") / "Qwen-Image-Edit-tiny")


@pytest.fixture
def small_pipeline_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the pipeline's input areas (a speed knob of the pipeline module) for CPU tests."""
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as module

    monkeypatch.setattr(module, "VAE_IMAGE_SIZE", TINY_AREA)
    monkeypatch.setattr(module, "CONDITION_IMAGE_SIZE", TINY_CONDITION_AREA)


@pytest.fixture
def qwen_editor(tiny_model: Path, small_pipeline_inputs: None) -> Editor:
    """An Editor on the tiny pipeline. Noise from random weights repaints everything, so the
    local-edit area guard is lifted."""
    settings = Settings(max_edit_area=1.0, nsfw_check=False)
    return Editor(
        engine="qwen", model_path=str(tiny_model), settings=settings, target_area=TINY_AREA, default_steps=2
    )
