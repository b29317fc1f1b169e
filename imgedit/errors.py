"""The error hierarchy every layer raises, so the CLI and the server can answer uniformly.

Each error knows its exit code (2: the user's input was wrong; 1: our failure) and its HTTP
status, and carries a message written for the user: what was wrong and what to do about it.
An error raised where the user's language is not known (a file that is not an image) may carry
its Chinese text too; the CLI or route that knows the instruction's language says it in that
language (``answered_in``), so a Chinese instruction gets a Chinese message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class InChinese:
    """An error's message and hint in Chinese."""

    message: str
    hint: str | None = None


class ImgEditError(Exception):
    """Base of all errors that are reported to users instead of as a traceback."""

    code: str = "internal_error"
    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str, *, hint: str | None = None, zh: InChinese | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.zh = zh

    def speak(self, language: str) -> ImgEditError:
        """Say this error in ``language`` (``zh`` or ``en``): its Chinese text replaces the English
        one when there is one. Returns the error itself, for ``raise exc.speak(...)``."""
        if language == "zh" and self.zh is not None:
            self.message, self.hint = self.zh.message, self.zh.hint
            self.args = (self.message,)
            self.zh = None
        return self

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, str]:
        data = {"code": self.code, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        return data


class BadInputError(ImgEditError):
    """The input (an image, a file, a parameter) is unusable as given."""

    code = "bad_input"
    exit_code = 2
    http_status = 400


class ImageTooLargeError(BadInputError):
    code = "image_too_large"
    http_status = 413


class NeedsClarificationError(BadInputError):
    """The instruction is too vague to act on; ``suggestions`` lists concrete edits to try."""

    code = "needs_clarification"
    http_status = 422

    def __init__(self, message: str, *, suggestions: list[str] | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.suggestions = suggestions or []

    def to_dict(self) -> dict[str, str]:
        data = super().to_dict()
        if self.suggestions:
            data["suggestions"] = "; ".join(self.suggestions)
        return data


class UnsupportedOperationError(BadInputError):
    """The chosen engine cannot do what the instruction asks (e.g. generative edits on classic)."""

    code = "unsupported_operation"
    http_status = 422


class NothingChangedError(BadInputError):
    """An edit asked to change something changed nothing (the thing it names was not found):
    reported as an error, never as a success."""

    code = "nothing_changed"
    http_status = 422


class EditAreaExceededError(BadInputError):
    """A local edit changed more of the image than ``IMGEDIT_MAX_EDIT_AREA`` allows."""

    code = "edit_area_exceeded"
    http_status = 422


class UnsafeContentError(BadInputError):
    """The output was flagged by the NSFW check and withheld."""

    code = "unsafe_content"
    http_status = 422


class NotFoundError(BadInputError):
    code = "not_found"
    http_status = 404


class ConflictError(BadInputError):
    """The request clashes with one already made, e.g. an idempotency key reused for another request."""

    code = "conflict"
    http_status = 409


class ModelNotFoundError(BadInputError):
    """The configured model folder is missing or incomplete."""

    code = "model_not_found"
    http_status = 503


class EditCancelledError(ImgEditError):
    code = "cancelled"
    exit_code = 1
    http_status = 409


class StorageUnavailableError(ImgEditError):
    """The blob store (an S3 bucket, a folder) cannot be reached or used: our failure, not the user's."""

    code = "storage_unavailable"
    http_status = 503


class EngineError(ImgEditError):
    """The engine failed for a reason that is ours, not the user's."""

    code = "engine_error"


@contextmanager
def answered_in(language: str) -> Iterator[None]:
    """Errors raised inside are said in ``language`` (that of the user's instruction)."""
    try:
        yield
    except ImgEditError as exc:
        exc.speak(language)
        raise
