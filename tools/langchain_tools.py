"""The LangChain tools: typed arguments, the session taken from the runtime context.

Each tool returns ``(content, artifact)``: the model reads the JSON content; the agent reads the
artifact (a ``ToolOutcome`` dump) to report ``version_id`` and ``image_path`` for the turn.
"""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime, tool
from langchain_core.tools import BaseTool

from tools.context import ToolContext
from tools.operations import SessionTools
from tools.outcome import ToolOutcome
from tools.schemas import (
    ApplyThemeArgs,
    CompareVersionsArgs,
    DescribeImageArgs,
    EditImageArgs,
    ImageArgs,
    RevertArgs,
    SelectImageArgs,
)

ToolResult = tuple[str, dict[str, Any]]


def _ops(runtime: ToolRuntime[ToolContext]) -> SessionTools:
    return SessionTools(runtime.context)


def _result(outcome: ToolOutcome) -> ToolResult:
    return outcome.content(), outcome.model_dump()


@tool("edit_image", args_schema=EditImageArgs, response_format="content_and_artifact")
def edit_image(
    instruction: str,
    runtime: ToolRuntime[ToolContext],
    image: str | None = None,
    from_version: str | None = None,
    target_entity: str | None = None,
    reference_images: list[str] | None = None,
    seed: int | None = None,
) -> ToolResult:
    """Edit an image as the instruction says, starting from any of its versions (default: current),
    optionally with other images as references (Picture 2, 3). The result becomes a new version;
    nothing is overwritten."""
    outcome = _ops(runtime).edit_image(
        instruction,
        image=image,
        from_version=from_version,
        target_entity=target_entity,
        reference_images=reference_images,
        seed=seed,
        call_id=runtime.tool_call_id,
    )
    return _result(outcome)


@tool("apply_theme", args_schema=ApplyThemeArgs, response_format="content_and_artifact")
def apply_theme(
    theme: str, runtime: ToolRuntime[ToolContext], image: str | None = None, from_version: str | None = None
) -> ToolResult:
    """Restyle the whole image with a named style template."""
    outcome = _ops(runtime).apply_theme(
        theme, image=image, from_version=from_version, call_id=runtime.tool_call_id
    )
    return _result(outcome)


@tool("undo", args_schema=ImageArgs, response_format="content_and_artifact")
def undo(runtime: ToolRuntime[ToolContext], image: str | None = None) -> ToolResult:
    """Go back to the version before the current one (the edit is kept and can be redone)."""
    return _result(_ops(runtime).undo(image, call_id=runtime.tool_call_id))


@tool("redo", args_schema=ImageArgs, response_format="content_and_artifact")
def redo(runtime: ToolRuntime[ToolContext], image: str | None = None) -> ToolResult:
    """Go forward again to the version the last undo left."""
    return _result(_ops(runtime).redo(image, call_id=runtime.tool_call_id))


@tool("revert", args_schema=RevertArgs, response_format="content_and_artifact")
def revert(version: str, runtime: ToolRuntime[ToolContext], image: str | None = None) -> ToolResult:
    """Make any earlier version (e.g. the original) the current one; later edits start from it."""
    return _result(_ops(runtime).revert(version, image, call_id=runtime.tool_call_id))


@tool("select_image", args_schema=SelectImageArgs, response_format="content_and_artifact")
def select_image(image: str, runtime: ToolRuntime[ToolContext]) -> ToolResult:
    """Switch to another image of the session; "it" and later edits then mean that image."""
    return _result(_ops(runtime).select_image(image, call_id=runtime.tool_call_id))


@tool("list_versions", args_schema=ImageArgs, response_format="content_and_artifact")
def list_versions(runtime: ToolRuntime[ToolContext], image: str | None = None) -> ToolResult:
    """List an image's versions: number, parent, instruction, engine, and which is current."""
    return _result(_ops(runtime).list_versions(image))


@tool("describe_image", args_schema=DescribeImageArgs, response_format="content_and_artifact")
def describe_image(
    runtime: ToolRuntime[ToolContext],
    image: str | None = None,
    version: str | None = None,
    read_text: bool = True,
) -> ToolResult:
    """Describe a version of an image: its size, the text in it, and the known objects in it."""
    return _result(_ops(runtime).describe_image(image, version, read_text))


@tool("compare_versions", args_schema=CompareVersionsArgs, response_format="content_and_artifact")
def compare_versions(
    runtime: ToolRuntime[ToolContext], a: str | None = None, b: str | None = None, image: str | None = None
) -> ToolResult:
    """Compare two versions of an image: the share and box of changed pixels, and a diff picture."""
    return _result(_ops(runtime).compare_versions(a, b, image))


def all_tools() -> list[BaseTool]:
    """Every tool the agent may call, in the order they are offered to the model."""
    return [
        edit_image,
        apply_theme,
        undo,
        redo,
        revert,
        select_image,
        list_versions,
        describe_image,
        compare_versions,
    ]
