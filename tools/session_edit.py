"""The one session-edit use case: resolved version -> ``Editor.edit`` -> new version, audited.

The agent's tools (tools/operations.py), the REST route's edit jobs (jobs/edit.py) and any later
job kind record a session edit through ``SessionEdits``, so every version an edit makes carries
the same audit record (the user's words, the resolved instruction, the resolution: which image,
from which version, about which entity; the author) and updates the entity registry the same way.
That is what lets "remove that badge" in a chat find a badge that was added over REST.

Effects happen once per job: an edit made for a job carries an ``EditEffect`` (the job id and,
inside a chat turn, the tool call), stored with the version; a job re-run after a crash finds
that version and returns it instead of editing again.

The image work itself (``Editor.edit``) runs in this thread (``run``) or anywhere the caller
chooses, e.g. a worker process, before ``record`` is called with the encoded result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from engine import Editor
from engine.imageio import encode_image, load_image
from engine.parsing.language import instruction_language
from engine.plan import GEOMETRY_KINDS, Box, EditPlan, Generative, Recolor, Remove
from engine.preserve import changed_mask
from engine.types import CancelToken
from imgedit.errors import BadInputError, NeedsClarificationError
from sessions import EntityInfo, ImageInfo, SessionStore, VersionInfo
from tools.entities import REMOVAL_WORDS, extract_entities

#: Pixels a removed entity's box grows by on each side (at least; 1% of the shorter side on big
#: images), so the fill also covers the badge's anti-aliased edge and shadow.
REMOVAL_MARGIN_PX = 3
#: Pixels whose channels differ by more than this count as changed (JPEG noise stays below it).
DIFF_THRESHOLD = 8

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EditEffect:
    """Names an edit's effect so it happens once: the job that asked for it and, when one job makes
    several edits (a chat turn's tool calls), which of them. Stored in the version's parameters."""

    job_id: str
    step: str = ""

    def parameters(self) -> dict[str, str]:
        return {"job_id": self.job_id, "job_step": self.step} if self.step else {"job_id": self.job_id}

    def made(self, version: VersionInfo) -> bool:
        params = version.parameters
        return params.get("job_id") == self.job_id and params.get("job_step", "") == self.step


@dataclass
class SessionEdit:
    """One edit of a session image, resolved: what is edited, from which version, by whom, why.

    ``instruction`` is what the engine executes (references resolved); ``user_text`` the words
    the user wrote, recorded as the version's instruction (the instruction itself when empty).
    """

    image: ImageInfo
    base: VersionInfo
    instruction: str
    user_text: str = ""
    author: str = "user"
    target: EntityInfo | None = None
    references: Sequence[tuple[ImageInfo, VersionInfo]] = ()
    plan: EditPlan | None = None
    seed: int | None = None
    effect: EditEffect | None = None
    #: The entity this edit removes (set by ``SessionEdits.prepare`` for "remove that badge").
    removing: EntityInfo | None = None


@dataclass
class RecordedEdit:
    """What an edit left in the session: its version, the audit's resolution, the entities it named.

    ``repeated``: the effect had already happened (a job re-run); nothing new was recorded.
    """

    version: VersionInfo
    resolution: dict[str, Any]
    report: dict[str, Any]
    entities: list[EntityInfo] = field(default_factory=list)
    repeated: bool = False


class SessionEdits:
    """Prepare, run and record session edits over one ``SessionStore``."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def prepare(self, edit: SessionEdit) -> SessionEdit:
        """Check the edit and complete its plan: "remove that badge" with a known entity becomes a
        ``Remove`` of the box the registry holds, which the classic engine can fill exactly."""
        edit.instruction = edit.instruction.strip()
        if not edit.instruction:
            raise NeedsClarificationError("The edit instruction is empty; say what to change.")
        target = edit.target
        box = entity_box(target) if target is not None else None
        if (
            edit.plan is None
            and not edit.references
            and target is not None
            and box is not None
            and REMOVAL_WORDS.search(edit.instruction)
        ):
            self._check_present(target, edit.image, edit.base)
            size = (edit.base.width, edit.base.height)
            edit.plan = removal_plan(edit.instruction, target.name, box, size)
            edit.removing = target
        return edit

    def done_before(self, edit: SessionEdit) -> RecordedEdit | None:
        """The version this edit's effect already made (a re-run of its job), or ``None``."""
        if edit.effect is None:
            return None
        for version in self.store.versions(edit.image.id):
            if edit.effect.made(version):
                return RecordedEdit(
                    version=version,
                    resolution=version.resolution,
                    report=version.report,
                    entities=[
                        e for e in self.store.entities(version.session_id) if e.version_id == version.id
                    ],
                    repeated=True,
                )
        return None

    def run(
        self,
        edit: SessionEdit,
        editor: Editor,
        *,
        images: Sequence[Image.Image] = (),
        preserve: bool = True,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> RecordedEdit:
        """``prepare``, then ``Editor.edit`` in this thread, then ``record`` (once per effect).

        Progress counts the engine's steps and then one more, recording the version: whoever
        follows the job sees it finish only once the version exists."""
        self.prepare(edit)
        found = self.done_before(edit)
        if found is not None:
            return found
        source = load_image(self.store.read_version(edit.base)).image
        plan = edit.plan or editor.parse(edit.instruction)
        box = entity_box(edit.target) if edit.target is not None else None
        if box is not None and edit.removing is None:
            plan = grounded_in_entity(plan, box, source.size)
        engine_steps = 0

        def step(done: int, total: int) -> None:
            nonlocal engine_steps
            engine_steps = total
            if progress is not None:
                progress(done, total + 1)

        started = time.perf_counter()
        result = editor.edit(
            image=source,
            images=list(images),
            prompt=edit.instruction,
            plan=plan,
            seed=edit.seed,
            enable_semantic_preserve=preserve,
            progress=step,
            cancel=cancel,
        )
        engine_seconds = time.perf_counter() - started
        report = result.report.to_dict()
        report["timings"] = {**report["timings"], "engine_call": round(engine_seconds, 6)}
        recorded = self.record(
            edit, encode_image(result.image, "PNG"), report, before=source, after=result.image
        )
        if progress is not None:
            progress(engine_steps + 1, engine_steps + 1)
        return recorded

    def record(
        self,
        edit: SessionEdit,
        data: bytes,
        report: dict[str, Any],
        *,
        before: Image.Image | None = None,
        after: Image.Image | None = None,
    ) -> RecordedEdit:
        """Record an edit's result: a new version (child of ``edit.base``, now the head) with its
        audit record, then the entities it named or removed. ``before``/``after`` are decoded
        from the store when a changed area must be measured and the caller has no copy."""
        found = self.done_before(edit)
        if found is not None:
            return found
        image, base = edit.image, edit.base
        pictures = [
            {
                "picture": number,
                "image": info.position,
                "image_id": info.id,
                "version": version.number,
                "version_id": version.id,
            }
            for number, (info, version) in enumerate([(image, base), *edit.references], 1)
        ]
        resolution: dict[str, Any] = {
            "user_text": edit.user_text,
            "image": image.position,
            "image_id": image.id,
            "from_version": base.number,
            "from_version_id": base.id,
            "head_before": self.store.head(image.id).number,
        }
        if edit.target is not None:
            target_version = self.store.version(edit.target.version_id)
            resolution["entity"] = {
                "id": edit.target.id,
                "name": edit.target.name,
                "category": edit.target.category,
                "version": target_version.number,
            }
        if edit.references:
            resolution["references"] = pictures[1:]
        # Which image and version each Picture was, kept with the engine's parameters: the edit
        # cannot be reproduced without them. The effect makes a re-run of the job find it.
        parameters = dict(report.get("parameters", {}))
        if edit.references:
            parameters["inputs"] = pictures
        if edit.effect is not None:
            parameters.update(edit.effect.parameters())
        version = self.store.add_version(
            base.id,
            data,
            instruction=edit.user_text or edit.instruction,
            resolved_instruction=edit.instruction,
            plan=report.get("plan"),
            engine=report.get("engine", ""),
            parameters=parameters,
            seed=edit.seed,
            timings=report.get("timings", {}),
            author=edit.author,
            resolution=resolution,
            report=report,
        )
        if edit.removing is not None:
            self.store.mark_entity_removed(edit.removing.id, version.id)
            entities: list[EntityInfo] = []
        else:
            entities = self._record_entities(edit, version, report.get("plan") or {}, before, after)
        return RecordedEdit(version=version, resolution=resolution, report=report, entities=entities)

    # -- the registry ----------------------------------------------------------------------

    def _record_entities(
        self,
        edit: SessionEdit,
        version: VersionInfo,
        plan: dict[str, Any],
        before: Image.Image | None,
        after: Image.Image | None,
    ) -> list[EntityInfo]:
        if not plan:
            return []
        typed = EditPlan.model_validate(plan)
        language = "zh" if typed.language in ("zh", "mixed") else "en"
        named_entities = extract_entities(typed, target=edit.target, language=language)
        box = None
        if named_entities and typed.is_local:
            before = before or load_image(self.store.read_version(edit.base)).image
            after = after or load_image(self.store.read_version(version)).image
            box = changed_box(before, after)
        return [
            self.store.record_entity(
                version.session_id,
                image_id=edit.image.id,
                version_id=version.id,
                name=named.name,
                category=named.category,
                box=None if box is None else box.model_dump(),
                entity_id=named.updates,
            )
            for named in named_entities
        ]

    def _check_present(self, entity: EntityInfo, image: ImageInfo, base: VersionInfo) -> None:
        """Refuse to remove an entity the version being edited does not show: one added on
        another branch (the user went back past it) or already removed."""
        lineage = self._lineage(base)
        if entity.image_id != image.id or entity.version_id not in lineage:
            added = self.store.version(entity.version_id)
            raise BadInputError(
                f"The {entity.name} was added in version {added.number}, which is not in the history of "
                f"version {base.number} (the one being edited), so there is nothing to remove.",
                hint=f"Go back to version {added.number} (or redo) first if you want it removed there.",
            )
        if entity.removed_version_id is not None and entity.removed_version_id in lineage:
            removed = self.store.version(entity.removed_version_id)
            raise BadInputError(
                f"The {entity.name} was already removed in version {removed.number}.",
                hint="Undo that edit to bring it back.",
            )

    def _lineage(self, version: VersionInfo) -> set[str]:
        """Ids of ``version`` and every version it descends from."""
        ids = {version.id}
        while version.parent_id is not None:
            version = self.store.version(version.parent_id)
            ids.add(version.id)
        return ids


def entity_box(entity: EntityInfo) -> Box | None:
    """The entity's box as the plan's typed ``Box``, or None when the registry has none.

    The session layer stores it as JSON (it knows nothing of engines); this is the one place it
    becomes typed again, so everything after (plans, grounding) works on ``Box``."""
    return None if entity.box is None else Box.model_validate(entity.box)


def changed_box(before: Image.Image, after: Image.Image) -> Box | None:
    """Where a local edit changed the picture, in fractions of the image, or None when nothing
    changed or the size did (a geometry edit has no box)."""
    if before.size != after.size:
        return None
    _, box, _ = diff_images(before.convert("RGB"), after.convert("RGB"))
    if box is None:
        return None
    width, height = after.size
    return Box(x0=box[0] / width, y0=box[1] / height, x1=box[2] / width, y1=box[3] / height)


def grown_box(box: Box, size: tuple[int, int]) -> Box:
    """An entity's box grown by a few pixels on each side (its anti-aliased edge and shadow)."""
    width, height = size
    pad = max(REMOVAL_MARGIN_PX, round(0.01 * min(width, height)))
    return Box(
        x0=max(0.0, box.x0 - pad / width),
        y0=max(0.0, box.y0 - pad / height),
        x1=min(1.0, box.x1 + pad / width),
        y1=min(1.0, box.y1 + pad / height),
    )


def removal_plan(instruction: str, name: str, box: Box, size: tuple[int, int]) -> EditPlan:
    """The plan that removes a known entity: a ``Remove`` of its box grown by a few pixels."""
    return EditPlan(
        instruction=instruction,
        operations=[Remove(target=name, box=grown_box(box, size), source=instruction)],
        language=instruction_language(instruction),
    )


def grounded_in_entity(plan: EditPlan, box: Box, size: tuple[int, int]) -> EditPlan:
    """``plan`` with the operations about a known entity put in its box.

    "把刚才那条裙子换成绿色" resolves to "the blue dress": without its box, every blue pixel of
    the picture (a blue shirt beside the dress) would turn green too. "把刚才那条裙子换成一条蓝色
    长袖衬衫" is a generative replacement: with the box, preservation keeps only what the model
    changed there (engine/preserve/grounding.py), never a face or another object it also
    repainted. So every recolour takes the box, and a generative edit or a removal does when it
    is the plan's only edit (geometry aside): in "make the dress blue and add a hat" or "replace
    the dress and add a hat" the hat is not the entity, and the edit stays unbounded. An
    operation that already names a place or a box keeps it."""
    ops = plan.operations
    edits = [i for i, op in enumerate(ops) if op.op not in GEOMETRY_KINDS]
    about = {i for i, op in enumerate(ops) if isinstance(op, Recolor)}
    if len(edits) == 1 and isinstance(ops[edits[0]], Generative | Remove):
        about.add(edits[0])
    unplaced = {i for i in about if ops[i].box is None and ops[i].place is None}
    if not unplaced:
        return plan
    box_model = grown_box(box, size)
    operations = [
        op.model_copy(update={"box": box_model}) if i in unplaced else op for i, op in enumerate(ops)
    ]
    return plan.model_copy(update={"operations": operations})


def diff_images(old: Image.Image, new: Image.Image) -> tuple[float, list[int] | None, Image.Image]:
    """Share of changed pixels, their bounding box (x0, y0, x1, y1) and a picture of the change:
    the new image dimmed, with changed pixels in red."""
    if new.size != old.size:
        old = old.resize(new.size, Image.Resampling.LANCZOS)
    b = np.asarray(new)
    changed = changed_mask(np.asarray(old), b, DIFF_THRESHOLD)
    ratio = float(changed.mean())
    box = None
    if changed.any():
        ys, xs = np.nonzero(changed)
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    picture = (b * 0.35).astype(np.uint8)
    picture[changed] = (255, 0, 0)
    return ratio, box, Image.fromarray(picture)
