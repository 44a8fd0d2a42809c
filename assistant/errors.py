"""The one error type (from `ingest.errors`) and how it maps to HTTP."""

from __future__ import annotations

from ingest.errors import ErrorCode, LotseError

HTTP_STATUS = {
    ErrorCode.EMPTY_QUESTION: 422,
    ErrorCode.QUESTION_TOO_LONG: 422,
    ErrorCode.INVALID_REQUEST: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.INDEX_UNAVAILABLE: 503,
    ErrorCode.GENERATOR_UNAVAILABLE: 503,
}

INTERNAL = LotseError(
    ErrorCode.INTERNAL,
    "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es später noch einmal.",
    "An internal error occurred. Please try again later.",
)

__all__ = ["ErrorCode", "LotseError", "HTTP_STATUS", "INTERNAL", "index_unavailable", "status_for"]


def index_unavailable() -> LotseError:
    """Chroma (or the index on disk) cannot be reached right now."""
    return LotseError(
        ErrorCode.INDEX_UNAVAILABLE,
        "Der Suchindex ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
        "The search index is not reachable right now. Please try again shortly.",
    )


def status_for(error: LotseError) -> int:
    return HTTP_STATUS.get(error.code, 500)
