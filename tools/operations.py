"""The operations behind the tools, as plain methods over a ``ToolContext``.

LangChain tools (tools/langchain_tools.py) and the CLI's slash commands both call these, so
``/undo`` and the agent's ``undo`` tool are the same code. Every method returns a
``ToolOutcome``; errors meant for the user (``ImgEditError``) come back as a failed outcome
with the message and hint, so the agent can explain them instead of crashing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from engine.imageio import encode_image, load_image
from engine.parsing.language import instruction_language
from engine.plan import Box, EditPlan, Generative, Remove, Theme
from engine.preserve import changed_mask
from engine.types import EditResult
from imgedit.errors import (
    BadInputError,
    ImgEditError,
    NeedsClarificationError,
    NotFoundError,
    UnsupportedOperationError,
)
from sessions import EntityInfo, ImageInfo, VersionInfo
from tools.context import ToolContext
from tools.entities import REMOVAL_WORDS, extract_entities
from tools.outcome import ToolOutcome

_PREVIOUS = {"previous", "prev", "parent", "last", "上一版", "上一个版本", "上个版本", "前一版"}
_CURRENT = {"", "head", "current", "latest", "当前", "最新"}
#: Pixels whose channels differ by more than this count as changed (JPEG noise stays below it).
DIFF_THRESHOLD = 8
#: Pixels a removed entity's box grows by on each side (at least; 1% of the shorter side on big
#: images), so the fill also covers the badge's anti-aliased edge and shadow.
REMOVAL_MARGIN_PX = 3
#: Images an edit may take besides the one edited (the engine's Picture 2 and Picture 3).
MAX_REFERENCES = 2
#: Reference edits that repaint the whole picture (a style, a composition) rather than a part of
#: it (a logo put somewhere): no unedited pixels to keep, no local-edit area limit.
_WHOLE_PICTURE = re.compile(r"\bstyle\b|\bcombine|\bmerge|\bblend|风格|画风|合成|合并|融合|拼", re.IGNORECASE)


class ReferenceEditUnsupportedError(UnsupportedOperationError):
    """An edit with reference images reached an engine that edits one image at a time."""

    def __init__(self, message: str, *, references: list[int], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.references = references


class SessionTools:
    """The session operations for one ``ToolContext``."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    # -- references ------------------------------------------------------------------------

    def find_image(self, ref: str | int | None = None) -> ImageInfo:
        """An image of this session by id or position (``2``, ``image 2``); default the active one."""
        images = self.store.images(self.ctx.session_id)
        if not images:
            raise BadInputError(
                "There is no image in this session yet.", hint="Attach one with /attach PATH."
            )
        text = str(ref).strip().lower().removeprefix("image").strip() if ref is not None else ""
        if not text:
            active = self.store.active_image(self.ctx.session_id)
            return active or images[-1]
        if text.isdigit() and int(text) <= len(images) + 1 and len(text) < 4:
            for image in images:
                if image.position == int(text):
                    return image
            raise NotFoundError(f"This session has {len(images)} image(s); there is no image {text}.")
        for image in images:
            if image.id == str(ref).strip():
                return image
        raise NotFoundError(
            f"No image '{ref}' in this session.", hint="Images are numbered 1, 2, ... in order."
        )

    def find_version(self, image: ImageInfo, ref: str | int | None = None) -> VersionInfo:
        """A version of ``image`` by id, number, ``original``, ``previous``; default its head."""
        text = str(ref).strip().lower() if ref is not None else ""
        head = self.store.head(image.id)
        if text in _CURRENT:
            return head
        if text in _PREVIOUS:
            if head.parent_id is None:
                raise BadInputError("The current version is the original; there is no previous version.")
            return self.store.version(head.parent_id)
        return self.store.find_version(image.id, str(ref))

    # -- edits -----------------------------------------------------------------------------

    def edit_image(
        self,
        instruction: str,
        *,
        image: str | int | None = None,
        from_version: str | int | None = None,
        target_entity: str | None = None,
        reference_images: Sequence[str] | None = None,
        seed: int | None = None,
        plan: EditPlan | None = None,
    ) -> ToolOutcome:
        """Edit a version of an image (default: the active image's head) and record the result.

        ``reference_images`` ("2", "2@original", an image id) are given to the engine after the
        edited image, as Picture 2 and 3; the version of each is its head unless named."""
        return self._guard(
            "edit_image",
            lambda: self._edit(
                instruction, image, from_version, target_entity, seed, plan, references=reference_images
            ),
        )

    def apply_theme(
        self, theme: str, *, image: str | int | None = None, from_version: str | int | None = None
    ) -> ToolOutcome:
        """Restyle the whole image with a named style template."""

        def run() -> ToolOutcome:
            plan = EditPlan(
                instruction=f"apply the {theme} theme", operations=[Theme(name=theme, source=theme)]
            )
            return self._edit(plan.instruction, image, from_version, None, None, plan, action="apply_theme")

        return self._guard("apply_theme", run)

    def _edit(
        self,
        instruction: str,
        image_ref: str | int | None,
        version_ref: str | int | None,
        target_entity: str | None,
        seed: int | None,
        plan: EditPlan | None,
        action: str = "edit_image",
        references: Sequence[str] | None = None,
    ) -> ToolOutcome:
        started = time.perf_counter()
        instruction = instruction.strip()
        if not instruction:
            raise NeedsClarificationError("The edit instruction is empty; say what to change.")
        image = self.find_image(image_ref)
        base = self.find_version(image, version_ref)
        target = self._entity(target_entity)
        source = load_image(self.store.read_version(base)).image
        inputs = self._references(references or [])
        extra = [load_image(self.store.read_version(version)).image for _, version in inputs]
        removing = None
        if (
            plan is None
            and not inputs
            and target is not None
            and target.box
            and REMOVAL_WORDS.search(instruction)
        ):
            # "remove that badge": the registry knows where it is, so the classic engine can
            # fill exactly that box instead of refusing a remove-by-name.
            self._check_present(target, image, base)
            plan = removal_plan(instruction, target.name, target.box, source.size)
            removing = target
        plan = plan or (reference_plan(instruction) if inputs else self.ctx.editor.parse(instruction))
        seed = seed if seed is not None else self.ctx.seed
        prepared = time.perf_counter()
        try:
            result: EditResult = self.ctx.editor.edit(
                image=source,
                images=extra,
                prompt=instruction,
                plan=plan,
                seed=seed,
                enable_semantic_preserve=not (inputs and _WHOLE_PICTURE.search(instruction)),
            )
        except UnsupportedOperationError as exc:
            if not inputs:
                raise
            positions = [info.position for info, _ in inputs]
            raise ReferenceEditUnsupportedError(
                "Using "
                + " and ".join(f"image {p}" for p in positions)
                + " as a reference needs the qwen engine; the classic engine edits one image at a time.",
                references=positions,
                hint=exc.hint,
            ) from exc
        engine_seconds = time.perf_counter() - prepared
        data = encode_image(result.image, "PNG")
        pictures = [
            {
                "picture": number,
                "image": info.position,
                "image_id": info.id,
                "version": version.number,
                "version_id": version.id,
            }
            for number, (info, version) in enumerate([(image, base), *inputs], 1)
        ]
        resolution: dict[str, Any] = {
            "user_text": self.ctx.user_text,
            "image": image.position,
            "image_id": image.id,
            "from_version": base.number,
            "from_version_id": base.id,
            "head_before": self.store.head(image.id).number,
        }
        if target is not None:
            target_version = self.store.version(target.version_id)
            resolution["entity"] = {
                "id": target.id,
                "name": target.name,
                "category": target.category,
                "version": target_version.number,
            }
        if inputs:
            resolution["references"] = pictures[1:]
        report = result.report.to_dict()
        # Which image and version each Picture was, kept with the engine's parameters: the
        # edit cannot be reproduced without them.
        parameters = {**report["parameters"], "inputs": pictures} if inputs else report["parameters"]
        version = self.store.add_version(
            base.id,
            data,
            instruction=self.ctx.user_text or instruction,
            resolved_instruction=instruction,
            plan=report["plan"],
            engine=report["engine"],
            parameters=parameters,
            seed=seed,
            timings={**report["timings"], "engine_call": round(engine_seconds, 6)},
            author=self.ctx.author,
            resolution=resolution,
            report=report,
        )
        if removing is not None:
            self.store.mark_entity_removed(removing.id, version.id)
            recorded: list[EntityInfo] = []
        else:
            recorded = self._record_entities(image, version, report["plan"], target, source, result.image)
        return ToolOutcome(
            action=action,
            message=f"Edited image {image.position}: version {version.number} from version {base.number}.",
            image_id=image.id,
            image=image.position,
            version_id=version.id,
            version=version.number,
            parent_version_id=base.id,
            parent_version=base.number,
            instruction=self.ctx.user_text or instruction,
            resolved_instruction=instruction,
            image_path=self.store.version_location(version),
            data={
                "engine": report["engine"],
                "changed_area_ratio": report["changed_area_ratio"],
                "warnings": report["warnings"],
                "entity": resolution.get("entity"),
                "removed_entity": resolution.get("entity") if removing is not None else None,
                "references": pictures[1:] if inputs else [],
                "entities": [{"id": e.id, "name": e.name, "category": e.category} for e in recorded],
                "engine_seconds": round(engine_seconds, 6),
                "tool_seconds": round(time.perf_counter() - started, 6),
            },
        )

    def _references(self, refs: Sequence[str]) -> list[tuple[ImageInfo, VersionInfo]]:
        """The reference images and versions named by ``refs`` ("2", "2@original", an id@version)."""
        if len(refs) > MAX_REFERENCES:
            raise BadInputError(
                f"An edit takes at most {MAX_REFERENCES} reference images besides the edited one; "
                f"{len(refs)} were given.",
                hint="Name the one or two images the edit takes something from.",
            )
        found = []
        for ref in refs:
            image_ref, _, version_ref = str(ref).partition("@")
            if not image_ref.strip():
                raise BadInputError(f"Reference image '{ref}' names no image.", hint="Use e.g. '2' or '2@3'.")
            info = self.find_image(image_ref.strip())
            found.append((info, self.find_version(info, version_ref.strip() or None)))
        return found

    def _entity(self, ref: str | None) -> EntityInfo | None:
        if not ref:
            return None
        for entity in self.store.entities(self.ctx.session_id):
            if ref in (entity.id, entity.name):
                return entity
        raise NotFoundError(
            f"No known object '{ref}' in this session.",
            hint="Name one by its id or name as describe_image lists them, or leave target_entity out.",
        )

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

    def _record_entities(
        self,
        image: ImageInfo,
        version: VersionInfo,
        plan: dict[str, Any],
        target: EntityInfo | None,
        before: Image.Image,
        after: Image.Image,
    ) -> list[EntityInfo]:
        language = "zh" if plan.get("language") in ("zh", "mixed") else "en"
        target_dict = {"id": target.id, "name": target.name, "category": target.category} if target else None
        named_entities = extract_entities(plan, target=target_dict, language=language)
        box = (
            changed_box(before, after) if named_entities and EditPlan.model_validate(plan).is_local else None
        )
        recorded = []
        for named in named_entities:
            recorded.append(
                self.store.record_entity(
                    self.ctx.session_id,
                    image_id=image.id,
                    version_id=version.id,
                    name=named.name,
                    category=named.category,
                    box=box,
                    entity_id=named.updates,
                )
            )
        return recorded

    # -- history ---------------------------------------------------------------------------

    def undo(self, image: str | int | None = None) -> ToolOutcome:
        return self._guard("undo", lambda: self._move("undo", image))

    def redo(self, image: str | int | None = None) -> ToolOutcome:
        return self._guard("redo", lambda: self._move("redo", image))

    def revert(self, version: str | int, image: str | int | None = None) -> ToolOutcome:
        return self._guard("revert", lambda: self._move("revert", image, version))

    def _move(
        self, action: str, image_ref: str | int | None, version_ref: str | int | None = None
    ) -> ToolOutcome:
        image = self.find_image(image_ref)
        before = self.store.head(image.id)
        if action == "undo":
            after = self.store.undo(image.id)
        elif action == "redo":
            after = self.store.redo(image.id)
        else:
            after = self.store.revert(image.id, self.find_version(image, version_ref).id)
        return ToolOutcome(
            action=action,
            message=f"Image {image.position} is now at version {after.number} (was {before.number}).",
            image_id=image.id,
            image=image.position,
            version_id=after.id,
            version=after.number,
            parent_version_id=after.parent_id,
            image_path=self.store.version_location(after),
            data={"previous_head": before.number},
        )

    def list_versions(self, image: str | int | None = None) -> ToolOutcome:
        def run() -> ToolOutcome:
            info = self.find_image(image)
            head = self.store.head(info.id)
            by_id = {v.id: v for v in self.store.versions(info.id)}
            rows = [
                {
                    "version": v.number,
                    "version_id": v.id,
                    "parent": by_id[v.parent_id].number if v.parent_id else None,
                    "instruction": v.instruction,
                    "resolved_instruction": v.resolved_instruction,
                    "engine": v.engine,
                    "head": v.id == head.id,
                }
                for v in by_id.values()
            ]
            return ToolOutcome(
                action="list_versions",
                message=f"Image {info.position} has {len(rows)} version(s); current: {head.number}.",
                image_id=info.id,
                image=info.position,
                version_id=head.id,
                version=head.number,
                image_path=self.store.version_location(head),
                data={"versions": rows},
            )

        return self._guard("list_versions", run)

    # -- looking ---------------------------------------------------------------------------

    def describe_image(
        self, image: str | int | None = None, version: str | int | None = None, read_text: bool = True
    ) -> ToolOutcome:
        def run() -> ToolOutcome:
            info = self.find_image(image)
            ver = self.find_version(info, version)
            text: list[str] = []
            if read_text:
                from engine.classic.ocr import read_text as ocr

                pixels = np.asarray(load_image(self.store.read_version(ver)).image.convert("RGB"))
                text = [line.text for line in ocr(pixels)]
            entities = [
                {
                    "id": e.id,
                    "name": e.name,
                    "category": e.category,
                    "version": self.store.version(e.version_id).number,
                }
                for e in self.store.entities(self.ctx.session_id, image_id=info.id)
            ]
            return ToolOutcome(
                action="describe_image",
                message=f"Image {info.position}, version {ver.number}: {ver.width}x{ver.height}.",
                image_id=info.id,
                image=info.position,
                version_id=ver.id,
                version=ver.number,
                image_path=self.store.version_location(ver),
                data={"width": ver.width, "height": ver.height, "text": text, "entities": entities},
            )

        return self._guard("describe_image", run)

    def compare_versions(
        self, a: str | int | None = None, b: str | int | None = None, image: str | int | None = None
    ) -> ToolOutcome:
        """How version ``b`` (default head) differs from ``a`` (default its parent), with a diff picture."""

        def run() -> ToolOutcome:
            info = self.find_image(image)
            new = self.find_version(info, b)
            if a is None or str(a).strip() == "":
                if new.parent_id is None:
                    raise BadInputError("This is the original; name two versions to compare.")
                old = self.store.version(new.parent_id)
            else:
                old = self.find_version(info, a)
            old_img = load_image(self.store.read_version(old)).image.convert("RGB")
            new_img = load_image(self.store.read_version(new)).image.convert("RGB")
            ratio, box, diff = diff_images(old_img, new_img)
            digest = self.store.blobs.put(encode_image(diff, "PNG"))
            return ToolOutcome(
                action="compare_versions",
                message=f"Version {new.number} differs from version {old.number} in {ratio:.1%} of it.",
                image_id=info.id,
                image=info.position,
                version_id=new.id,
                version=new.number,
                parent_version_id=old.id,
                parent_version=old.number,
                image_path=self.store.blobs.locate(digest),
                data={
                    "changed_area_ratio": round(ratio, 6),
                    "changed_box": box,
                    "same_size": old_img.size == new_img.size,
                },
            )

        return self._guard("compare_versions", run)

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _guard(action: str, run: Callable[[], ToolOutcome]) -> ToolOutcome:
        try:
            return run()
        except ImgEditError as exc:
            error: dict[str, Any] = dict(exc.to_dict())
            suggestions = getattr(exc, "suggestions", None)
            if suggestions:
                error["suggestions"] = list(suggestions)
            if isinstance(exc, ReferenceEditUnsupportedError):
                error.update(needs="qwen", references=exc.references)
            return ToolOutcome(ok=False, action=action, message=exc.message, error=error)


def reference_plan(instruction: str) -> EditPlan:
    """The plan of an edit that takes something from other images: one generative operation,
    since only a model that sees every picture can do it (the classic engine refuses it)."""
    return EditPlan(
        instruction=instruction,
        operations=[Generative(description=instruction, source=instruction)],
        language=instruction_language(instruction),
    )


def changed_box(before: Image.Image, after: Image.Image) -> dict[str, float] | None:
    """Where a local edit changed the picture, in fractions of the image (``engine.plan.Box``
    fields), or None when nothing changed or the size did (a geometry edit has no box)."""
    if before.size != after.size:
        return None
    _, box, _ = diff_images(before.convert("RGB"), after.convert("RGB"))
    if box is None:
        return None
    width, height = after.size
    return {"x0": box[0] / width, "y0": box[1] / height, "x1": box[2] / width, "y1": box[3] / height}


def removal_plan(instruction: str, name: str, box: dict[str, float], size: tuple[int, int]) -> EditPlan:
    """The plan that removes a known entity: a ``Remove`` of its box grown by a few pixels."""
    width, height = size
    pad = max(REMOVAL_MARGIN_PX, round(0.01 * min(width, height)))
    grown = Box(
        x0=max(0.0, box["x0"] - pad / width),
        y0=max(0.0, box["y0"] - pad / height),
        x1=min(1.0, box["x1"] + pad / width),
        y1=min(1.0, box["y1"] + pad / height),
    )
    return EditPlan(
        instruction=instruction,
        operations=[Remove(target=name, box=grown, source=instruction)],
        language=instruction_language(instruction),
    )


def diff_images(old: Image.Image, new: Image.Image) -> tuple[float, list[int] | None, Image.Image]:
    """Share of changed pixels, their bounding box (x0, y0, x1, y1) and a picture of the change:
    the new image dimmed, with changed pixels in red."""
    if new.size != old.size:
        old = old.resize(new.size, Image.Resampling.LANCZOS)
    b = np.asarray(new)
    changed = changed_mask(np.asarray(old), b, DIFF_THRESHOLD, clean=False)
    ratio = float(changed.mean())
    box = None
    if changed.any():
        ys, xs = np.nonzero(changed)
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    picture = (b * 0.35).astype(np.uint8)
    picture[changed] = (255, 0, 0)
    return ratio, box, Image.fromarray(picture)
