"""What a tool reports: one typed record, shown to the model as JSON and kept as the artifact.

The same record feeds the CLI's ``--json`` turn (image_id, version_id, image_path) and the
planner's reply, so what the user is told is exactly what was done.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from engine.parsing.language import reply_language
from engine.plan import EditPlan


class ToolOutcome(BaseModel):
    ok: bool = True
    action: str
    message: str = ""
    image_id: str | None = None
    image: int | None = Field(default=None, description="The image's position in the session (1 = first).")
    version_id: str | None = None
    version: int | None = None
    parent_version_id: str | None = None
    parent_version: int | None = None
    instruction: str | None = None
    resolved_instruction: str | None = None
    image_path: str | None = None
    error: dict[str, Any] | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def content(self) -> str:
        """The JSON the model reads (paths left out: the model has no use for them)."""
        return json.dumps(self.model_dump(exclude_none=True, exclude={"image_path"}), ensure_ascii=False)


def edit_done_message(report: dict[str, Any], instruction: str, image: int, version: int, base: int) -> str:
    """What an edit did, for the user, in their language: the version made and each part of the
    instruction it carried out (the plan's clauses, in order; parts a purpose added are named by
    their purpose), then its warnings. A part that could not be done never reaches here: the edit
    is refused whole, naming it."""
    plan = EditPlan.model_validate(report["plan"])
    zh = reply_language(instruction) == "zh"
    parts: list[str] = []
    for op in plan.operations:
        if op.source and op.source not in parts:
            parts.append(op.source)
    warnings = [str(w) for w in report.get("warnings", [])]
    if zh:
        message = f"已修改图片{image}：从版本{base}生成版本{version}。"
        if parts:
            message += "已完成：" + "、".join(f"“{part}”" for part in parts) + "。"
        return message + "".join(f"注意：{w}" for w in warnings)
    message = f"Edited image {image}: version {version} from version {base}."
    if parts:
        message += " Done: " + ", ".join(f"'{part}'" for part in parts) + "."
    return message + "".join(f" Note: {w}" for w in warnings)
