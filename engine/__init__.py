"""The edit engine: one interface (``Editor``) over the ``qwen`` and ``classic`` backends.

engine/ knows nothing of sessions, agents or HTTP; everything above it calls ``Editor``.
"""

from engine.editor import Editor
from engine.plan import EditPlan
from engine.types import CancelToken, EditReport, EditRequest, EditResult, ProgressCallback

__all__ = ["CancelToken", "EditPlan", "EditReport", "EditRequest", "EditResult", "Editor", "ProgressCallback"]
