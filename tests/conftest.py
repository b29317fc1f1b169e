"""Shared test fixtures: an isolated IMGEDIT_HOME per test and real photographs from skimage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from engine.samples import sample_photo
from imgedit.config import get_settings


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
