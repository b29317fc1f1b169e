"""The NSFW check with NudeNet's bundled model (real inference, no mocks)."""

from __future__ import annotations

import pytest

from engine import Editor
from engine.safety import Detection, check_output_safety, detect_all, raise_if_unsafe
from imgedit.config import get_settings
from imgedit.errors import UnsafeContentError
from tests.conftest import skimage_photo


def test_detector_runs_and_passes_an_ordinary_photo() -> None:
    photo = skimage_photo("astronaut")
    labels = {d.label for d in detect_all(photo)}
    assert "FACE_FEMALE" in labels  # the model really ran and saw the astronaut's face
    check_output_safety(photo)  # no explicit content: no error


def test_explicit_detections_are_refused_with_their_names() -> None:
    hits = [Detection(label="FEMALE_BREAST_EXPOSED", score=0.91, box=(0, 0, 5, 5))]
    with pytest.raises(UnsafeContentError, match="female breast exposed"):
        raise_if_unsafe(hits)


def test_editor_runs_the_check_when_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGEDIT_NSFW_CHECK", "1")
    get_settings.cache_clear()
    result = Editor(engine="classic").edit(image=skimage_photo("astronaut"), prompt="brighter")
    assert "safety" in result.report.timings
