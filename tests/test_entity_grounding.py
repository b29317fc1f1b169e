"""A generative edit of an entity the session knows is bounded by the entity's box: whatever else
the model repainted (another object, a colour cast) is not kept, and an output whose change lies
mostly elsewhere (the model edited the wrong thing) is refused, in the user's language.

The session, its store, the plan, the grounding and the preservation run for real; only the GPU
model is a synthetic output (tests/test_preserve.py's ``DriftingModel``: the edit drawn, then
zoomed, shifted, softened and cast as Qwen-Image-Edit does)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.classic.regions import box_rect
from engine.imageio import encode_image, load_image
from engine.parsing import parse_instruction
from engine.plan import Box, EditPlan, Generative, Recolor
from engine.preserve import preserve_unedited
from engine.preserve.grounding import bound_box, plan_grounding
from imgedit.errors import NothingChangedError
from sessions import SessionStore
from tests.conftest import skimage_photo
from tests.test_preserve import DriftingModel, ModelEditor, seam_step
from tools.session_edit import SessionEdit, SessionEdits, grounded_in_entity, grown_box, removal_plan

#: The dress the session knows (pixels of the 512 x 512 astronaut), and another object the model
#: also repaints: her face, 40 px from the dress box's bounds.
DRESS = (250, 300, 400, 500)
FACE = (170, 60, 260, 150)
CAST = (24, 8, -16)


def shirt_on(picture: Image.Image) -> Image.Image:
    """The edit done perfectly: a striped blue shirt over the dress, its sleeves a little wider."""
    edited = picture.copy()
    draw = ImageDraw.Draw(edited)
    x0, y0, x1, y1 = DRESS
    draw.rectangle((x0 - 6, y0 + 10, x1 + 6, y1 - 10), fill=(40, 70, 190))
    for y in range(y0 + 16, y1 - 10, 14):
        draw.rectangle((x0 - 6, y, x1 + 6, y + 4), fill=(230, 230, 240))
    return edited


def face_repainted(picture: Image.Image) -> Image.Image:
    edited = picture.copy()
    ImageDraw.Draw(edited).ellipse(FACE, fill=(200, 120, 90))
    return edited


def dress_session(tmp_path: Path) -> tuple[SessionStore, SessionEdit]:
    store = SessionStore(tmp_path / "imgedit.db", tmp_path / "blobs")
    session = store.create_session()
    picture = skimage_photo("astronaut")
    image, base = store.add_image(session.id, encode_image(picture, "PNG"), name="model.png")
    width, height = picture.size
    x0, y0, x1, y1 = DRESS
    dress = store.record_entity(
        session.id,
        image_id=image.id,
        version_id=base.id,
        name="蓝色连衣裙",
        category="clothing/dress",
        box={"x0": x0 / width, "y0": y0 / height, "x1": x1 / width, "y1": y1 / height},
    )
    edit = SessionEdit(
        image=image,
        base=base,
        instruction="把蓝色连衣裙换成一条蓝色长袖衬衫",
        user_text="把刚才那条裙子换成一条蓝色长袖衬衫",
        target=dress,
        seed=0,
    )
    return store, edit


def test_replacing_a_known_dress_keeps_nothing_the_model_changed_elsewhere(tmp_path: Path) -> None:
    store, edit = dress_session(tmp_path)
    original = skimage_photo("astronaut")
    wanted = shirt_on(original)
    model = DriftingModel(face_repainted(wanted), cast=CAST)
    recorded = SessionEdits(store).run(edit, ModelEditor(model, max_edit_area=0.5))

    # The generative replacement went to the model bounded by the dress's box.
    plan = EditPlan.model_validate(recorded.version.plan)
    (op,) = plan.operations
    assert isinstance(op, Generative) and op.box is not None
    bounds = bound_box(box_rect(op.box, *original.size), *original.size)
    x0, y0, x1, y1 = DRESS
    assert bounds.x0 < x0 - 6 and bounds.x1 > x1 + 6 and bounds.y0 < y0 and bounds.y1 >= min(512, y1)

    result = load_image(store.read_version(recorded.version)).image.convert("RGB")
    a, out = np.asarray(original), np.asarray(result)
    inside = np.zeros(a.shape[:2], dtype=bool)
    inside[bounds.y0 : bounds.y1, bounds.x0 : bounds.x1] = True
    # Outside the grown box: the input, bit for bit (the face, the cast, the drift all gone).
    assert np.array_equal(out[~inside], a[~inside])
    # Inside: the new shirt, in its own colours (the cast undone), with no step at its edge.
    truth = np.abs(np.asarray(wanted).astype(int) - a).max(axis=2) > 48
    assert truth[~inside].sum() == 0
    asked = np.abs(np.asarray(wanted)[truth].astype(int) - a[truth]).mean()
    shown = np.abs(out[truth].astype(int) - a[truth]).mean()
    off = np.abs(out[truth].astype(int) - np.asarray(wanted)[truth]).mean()
    assert shown >= 0.8 * asked and off < 0.25 * asked
    # The version is preservation's output for this plan; its composited region has no seam.
    preserved = preserve_unedited(original, model.output, grounding=plan_grounding(original, plan))
    assert np.array_equal(np.asarray(preserved.image), out)
    assert preserved.mask[truth].mean() >= 0.95
    assert seam_step(result, original, preserved.mask) < 4.0
    assert 0.0 < preserved.outside_ratio < preserved.changed_area_ratio
    warnings = recorded.report["warnings"]
    assert any("outside the box" in warning for warning in warnings)
    assert any("colours" in warning for warning in warnings)
    # The registry now knows the shirt, where it is.
    (shirt,) = recorded.entities
    assert shirt.category == "clothing/shirt" and shirt.box is not None
    assert shirt.box["x0"] >= bounds.x0 / 512 and shirt.box["x1"] <= bounds.x1 / 512


def test_a_model_that_edited_the_wrong_object_is_refused_in_the_users_language(tmp_path: Path) -> None:
    """The model repainted the face and left the dress: keeping the sliver of drift inside the box
    would be a success with nothing done. No version is made."""
    store, edit = dress_session(tmp_path)
    model = DriftingModel(face_repainted(skimage_photo("astronaut")), cast=CAST)
    editor = ModelEditor(model, max_edit_area=0.5)
    with pytest.raises(NothingChangedError, match="别的地方"):
        SessionEdits(store).run(edit, editor)
    edit.instruction = edit.user_text = "replace the blue dress with a long-sleeved shirt"
    with pytest.raises(NothingChangedError, match="mostly other parts"):
        SessionEdits(store).run(edit, editor)
    assert len(store.versions(edit.image.id)) == 1


def test_only_the_operations_about_the_entity_take_its_box() -> None:
    """A recolour, or a lone generative edit, is about the entity; with two things to paint the
    plan cannot say which one it is, so the edit stays unbounded (nothing the model does for the
    hat is thrown away)."""
    box = Box(x0=0.5, y0=0.6, x1=0.8, y1=1.0)
    size = (512, 512)
    alone = grounded_in_entity(parse_instruction("把蓝色连衣裙换成一条蓝色长袖衬衫"), box, size)
    assert [op.box for op in alone.operations] == [grown_box(box, size)]
    assert plan_grounding(skimage_photo("astronaut"), alone).bounds != ()
    # A removal the classic engine hands to qwen at run time (a busy scene) keeps its box's bounds.
    removal = removal_plan("去掉那个徽章", "徽章", box, size)
    assert plan_grounding(skimage_photo("astronaut"), removal).bounds != ()
    two = grounded_in_entity(parse_instruction("把裙子换成蓝色，再加一顶帽子"), box, size)
    recolour, hat = two.operations
    assert isinstance(recolour, Recolor) and recolour.box == grown_box(box, size) and hat.box is None
    assert plan_grounding(skimage_photo("astronaut"), two).bounds == ()
