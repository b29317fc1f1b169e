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

from engine.imageio import encode_image, load_image
from engine.parsing.language import instruction_language
from engine.plan import EditPlan, Generative, Theme
from imgedit.errors import (
    BadInputError,
    ImgEditError,
    NeedsClarificationError,
    NotFoundError,
    UnsupportedOperationError,
)
from sessions import EntityInfo, ImageInfo, VersionInfo
from tools.context import ToolContext
from tools.outcome import ToolOutcome, edit_done_message
from tools.session_edit import EditEffect, SessionEdit, SessionEdits, diff_images

_PREVIOUS = {"previous", "prev", "parent", "last", "上一版", "上一个版本", "上个版本", "前一版"}
_CURRENT = {"", "head", "current", "latest", "当前", "最新"}
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
        call_id: str | None = None,
    ) -> ToolOutcome:
        """Edit a version of an image (default: the active image's head) and record the result.

        ``reference_images`` ("2", "2@original", an image id) are given to the engine after the
        edited image, as Picture 2 and 3; the version of each is its head unless named.
        ``call_id`` names this call within the turn's job, so a re-run of the job edits once."""
        return self._guard(
            "edit_image",
            lambda: self._edit(
                instruction,
                image,
                from_version,
                target_entity,
                seed,
                plan,
                references=reference_images,
                call_id=call_id,
            ),
        )

    def apply_theme(
        self,
        theme: str,
        *,
        image: str | int | None = None,
        from_version: str | int | None = None,
        call_id: str | None = None,
    ) -> ToolOutcome:
        """Restyle the whole image with a named style template."""

        def run() -> ToolOutcome:
            plan = EditPlan(
                instruction=f"apply the {theme} theme", operations=[Theme(name=theme, source=theme)]
            )
            return self._edit(
                plan.instruction, image, from_version, None, None, plan, action="apply_theme", call_id=call_id
            )

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
        call_id: str | None = None,
    ) -> ToolOutcome:
        started = time.perf_counter()
        if not instruction.strip():
            raise NeedsClarificationError("The edit instruction is empty; say what to change.")
        image = self.find_image(image_ref)
        base = self.find_version(image, version_ref)
        inputs = self._references(references or [])
        edit = SessionEdit(
            image=image,
            base=base,
            instruction=instruction,
            user_text=self.ctx.user_text,
            author=self.ctx.author,
            target=self._entity(target_entity),
            references=inputs,
            plan=plan or (reference_plan(instruction.strip()) if inputs else None),
            seed=seed if seed is not None else self.ctx.seed,
            effect=EditEffect(self.ctx.job_id, call_id or action) if self.ctx.job_id else None,
        )
        extra = [load_image(self.store.read_version(version)).image for _, version in inputs]
        try:
            recorded = SessionEdits(self.store).run(
                edit,
                self.ctx.editor,
                images=extra,
                preserve=not (inputs and _WHOLE_PICTURE.search(instruction)),
                progress=self.ctx.progress,
                cancel=self.ctx.cancel,
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
        version, report, resolution = recorded.version, recorded.report, recorded.resolution
        return ToolOutcome(
            action=action,
            message=edit_done_message(report, instruction, image.position, version.number, base.number),
            image_id=image.id,
            image=image.position,
            version_id=version.id,
            version=version.number,
            parent_version_id=base.id,
            parent_version=base.number,
            instruction=version.instruction,
            resolved_instruction=version.resolved_instruction,
            image_path=self.store.version_location(version),
            data={
                "engine": report.get("engine", version.engine),
                "changed_area_ratio": report.get("changed_area_ratio"),
                "warnings": report.get("warnings", []),
                "entity": resolution.get("entity"),
                "removed_entity": resolution.get("entity") if edit.removing is not None else None,
                "references": resolution.get("references", []),
                "entities": [{"id": e.id, "name": e.name, "category": e.category} for e in recorded.entities],
                "engine_seconds": report.get("timings", {}).get("engine_call", 0.0),
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

    # -- history ---------------------------------------------------------------------------

    # ``call_id`` names the tool call within the turn's job, as for edits: a re-run of the job
    # finds the move it made (``SessionStore.head_move``) instead of moving again.

    def undo(self, image: str | int | None = None, call_id: str | None = None) -> ToolOutcome:
        return self._guard("undo", lambda: self._move("undo", image, call_id=call_id))

    def redo(self, image: str | int | None = None, call_id: str | None = None) -> ToolOutcome:
        return self._guard("redo", lambda: self._move("redo", image, call_id=call_id))

    def revert(
        self, version: str | int, image: str | int | None = None, call_id: str | None = None
    ) -> ToolOutcome:
        return self._guard("revert", lambda: self._move("revert", image, version, call_id))

    def select_image(self, image: str | int, call_id: str | None = None) -> ToolOutcome:
        """Switch to another image ("上一张", "the second image"): it becomes the one "it" means;
        no version is made and its head stays where it is."""
        return self._guard("select_image", lambda: self._move("select_image", image, call_id=call_id))

    def _move(
        self,
        action: str,
        image_ref: str | int | None,
        version_ref: str | int | None = None,
        call_id: str | None = None,
    ) -> ToolOutcome:
        image = self.find_image(image_ref)
        effect = f"{self.ctx.job_id}/{call_id}" if self.ctx.job_id and call_id else None
        done = self.store.head_move(effect) if effect else None
        if done is not None:  # a re-run of this job step: report the move it made
            moved_from, after = done
            before = moved_from or after
        else:
            before = self.store.head(image.id)
            if action == "select_image":
                self.store.select_image(image.id, effect=effect)
                after = before
            elif action == "undo":
                after = self.store.undo(image.id, effect=effect)
            elif action == "redo":
                after = self.store.redo(image.id, effect=effect)
            else:
                after = self.store.revert(image.id, self.find_version(image, version_ref).id, effect=effect)
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
