"""What a tool reports: one typed record, shown to the model as JSON and kept as the artifact.

The same record feeds the CLI's ``--json`` turn (image_id, version_id, image_path) and the
planner's reply, so what the user is told is exactly what was done.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field


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
