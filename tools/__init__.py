"""LangChain tools over engine/ and sessions/: edit, theme, undo, redo, revert, list, describe, compare."""

from tools.context import ToolContext
from tools.langchain_tools import all_tools
from tools.operations import SessionTools
from tools.outcome import ToolOutcome

__all__ = ["SessionTools", "ToolContext", "ToolOutcome", "all_tools"]
