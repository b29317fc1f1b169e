"""The Editor's shared guarantees, on the classic engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import CancelToken, Editor, EditRequest
from engine.plan import Adjust, EditPlan, Generative
from imgedit.config import Settings
from imgedit.errors import BadInputError, EditCancelledError, UnsupportedOperationError
from tests.conftest import TINY_AREA, skimage_photo


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(engine="classic")


@pytest.mark.parametrize("size", [(97, 61), (61, 97), (1080, 1920), (333, 517)])
def test_output_has_the_input_size(editor: Editor, size: tuple[int, int]) -> None:
    image = skimage_photo("coffee").resize(size)
    result = editor.edit(image=image, prompt="make it brighter")
    assert result.image.size == size
    assert result.report.output_size == size
    assert result.report.engine == "classic"
    assert np.asarray(result.image).mean() > np.asarray(image).mean()


def test_chinese_instruction_darkens(editor: Editor) -> None:
    image = skimage_photo("astronaut")
    result = editor.edit(image=image, prompt="调暗一点")
    assert np.asarray(result.image).mean() < np.asarray(image).mean()
    assert result.report.plan["language"] == "zh"
    assert result.report.plan["operations"][0]["op"] == "adjust"


def test_report_is_complete_and_json_ready(editor: Editor) -> None:
    result = editor.edit(image=skimage_photo("coffee"), prompt="warmer", seed=7)
    data = result.report.to_dict()
    assert data["parameters"]["seed"] == 7
    assert data["seconds"] > 0
    assert 0 < data["changed_area_ratio"] <= 1
    assert set(data["timings"]) >= {"parse", "engine", "preserve"}


def test_alpha_channel_is_carried_over(editor: Editor) -> None:
    image = skimage_photo("coffee").convert("RGBA")
    alpha = Image.linear_gradient("L").resize(image.size)
    image.putalpha(alpha)
    result = editor.edit(image=image, prompt="brighter")
    assert result.image.mode == "RGBA"
    assert np.array_equal(np.asarray(result.image.getchannel("A")), np.asarray(alpha))


def test_generative_edit_on_classic_names_the_operation_and_qwen(editor: Editor) -> None:
    with pytest.raises(UnsupportedOperationError) as info:
        editor.edit(image=skimage_photo("astronaut"), prompt="把模特身上的衣服换成蓝色长袖衬衫")
    assert "生成式模型" in info.value.message  # for the user, in the instruction's language
    assert info.value.hint and "IMGEDIT_QWEN_MODEL" in info.value.hint  # for the operator


def test_explicit_plan_skips_parsing(editor: Editor) -> None:
    plan = EditPlan(instruction="x", operations=[Adjust(brightness=0.5)])
    result = editor.edit(image=skimage_photo("coffee"), prompt="anything at all", plan=plan)
    assert result.report.plan["instruction"] == "x"


def test_progress_reports_each_operation_in_order(editor: Editor) -> None:
    seen: list[tuple[int, int]] = []
    plan = EditPlan(instruction="x", operations=[Adjust(brightness=0.2), Adjust(contrast=0.3)])
    editor.edit(image=skimage_photo("coffee"), plan=plan, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]


def test_cancelled_token_stops_before_work(editor: Editor) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(EditCancelledError):
        editor.edit(image=skimage_photo("coffee"), prompt="brighter", cancel=token)


def test_cancel_between_operations(editor: Editor) -> None:
    token = CancelToken()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        token.cancel()

    plan = EditPlan(instruction="x", operations=[Adjust(brightness=0.2), Adjust(contrast=0.3)])
    with pytest.raises(EditCancelledError):
        editor.edit(image=skimage_photo("coffee"), plan=plan, progress=progress, cancel=token)
    assert seen == [1]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"images": []}, "1 to 3 images"),
        ({"images": [Image.new("RGB", (8, 8))] * 4}, "1 to 3 images"),
        ({"mask": Image.new("L", (3, 3))}, "mask"),
        ({"max_edit_area": 1.5}, "max_edit_area"),
    ],
)
def test_bad_requests_get_clear_errors(kwargs: dict, words: str) -> None:
    base = {"images": [Image.new("RGB", (8, 8))], "instruction": "brighter"}
    with pytest.raises(BadInputError) as info:
        EditRequest(**{**base, **kwargs})
    assert words in str(info.value)


def test_unknown_engine_and_qwen_without_model() -> None:
    with pytest.raises(BadInputError, match="Unknown engine"):
        Editor(engine="dalle")
    with pytest.raises(BadInputError, match="IMGEDIT_QWEN_MODEL"):
        Editor(engine="qwen")


def test_auto_without_model_uses_classic_and_refuses_generative() -> None:
    editor = Editor(engine="auto")
    assert not editor.qwen_available()
    plan = EditPlan(instruction="paint a mountain", operations=[Generative(description="paint a mountain")])
    with pytest.raises(UnsupportedOperationError):
        editor.choose_backend(plan)


def test_auto_hands_a_busy_scene_cut_out_to_qwen(
    tiny_model: Path, small_pipeline_inputs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The classic engine refuses a cut-out of a busy scene rather than damage the subject; in
    auto mode with qwen available (a GPU is what cannot exist here, so its presence is faked) the
    edit goes to qwen instead of failing."""
    monkeypatch.setattr("engine.editor.cuda_available", lambda: True)
    settings = Settings(max_edit_area=1.0, nsfw_check=False)
    editor = Editor(
        engine="auto",
        model_path=str(tiny_model),
        settings=settings,
        target_area=TINY_AREA,
        default_steps=2,
        device="cpu",
    )
    photo = skimage_photo("chelsea").resize((64, 48))
    result = editor.edit(image=photo, prompt="去掉背景（白底）")
    assert result.report.engine == "qwen" and result.image.size == (64, 48)
