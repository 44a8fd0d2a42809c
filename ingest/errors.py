"""The one error type of Lotse. `assistant` maps it to HTTP; the CLI prints its message."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """What went wrong, independent of how it is reported."""

    UNREADABLE_FILE = "unreadable_file"
    UNSUPPORTED_FILE = "unsupported_file"
    FILE_TOO_LARGE = "file_too_large"
    EMPTY_FILE = "empty_file"
    INVALID_REQUEST = "invalid_request"
    QUESTION_TOO_LONG = "question_too_long"
    EMPTY_QUESTION = "empty_question"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    UNAUTHORIZED = "unauthorized"
    INDEX_UNAVAILABLE = "index_unavailable"
    GENERATOR_UNAVAILABLE = "generator_unavailable"
    CONFIGURATION = "configuration"
    INTERNAL = "internal"


class LotseError(Exception):
    """An expected failure with a message fit for users (German first, English optional)."""

    def __init__(self, code: ErrorCode, message: str, message_en: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_en = message_en or message

    def text(self, language: str = "de") -> str:
        """The user-facing message in `language` ("de" or "en")."""
        return self.message_en if language == "en" else self.message
