"""The one error type of Lotse and the error codes of the ingest layer.

Every layer names its own codes in a subclass of `ErrorCode` (the answer service adds its own
in `assistant.errors`); channels turn a `LotseError` into HTTP or a chat message.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Base of all error codes: a stable string, independent of how it is reported."""


class IngestCode(ErrorCode):
    """What can go wrong while reading files, indexing or opening the index."""

    UNREADABLE_FILE = "unreadable_file"
    UNSUPPORTED_FILE = "unsupported_file"
    FILE_TOO_LARGE = "file_too_large"
    EMPTY_FILE = "empty_file"
    INDEX_UNAVAILABLE = "index_unavailable"
    CONFIGURATION = "configuration"
    INTERNAL = "internal"


class LotseError(Exception):
    """An expected failure with a message fit for users (German first, English optional)."""

    def __init__(
        self, code: ErrorCode, message: str, message_en: str | None = None, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_en = message_en or message
        self.retry_after = retry_after  # seconds, for rate limits

    def text(self, language: str = "de") -> str:
        """The user-facing message in `language` ("de" or "en")."""
        return self.message_en if language == "en" else self.message


def index_unavailable(where: str = "") -> LotseError:
    """Chroma (or the index on disk) cannot be reached right now."""
    detail = f" ({where})" if where else ""
    return LotseError(
        IngestCode.INDEX_UNAVAILABLE,
        f"Der Suchindex ist gerade nicht erreichbar{detail}. Bitte versuchen Sie es gleich noch einmal.",
        f"The search index is not reachable right now{detail}. Please try again shortly.",
    )


def configuration_error(message: str, message_en: str | None = None) -> LotseError:
    return LotseError(IngestCode.CONFIGURATION, message, message_en)
