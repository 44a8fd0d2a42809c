"""Error codes of the answer service (on top of ingest's) and the errors it raises."""

from __future__ import annotations

from ingest.errors import ErrorCode, IngestCode, LotseError, configuration_error, index_unavailable

__all__ = [
    "INTERNAL",
    "ErrorCode",
    "IngestCode",
    "LotseError",
    "ServiceCode",
    "configuration_error",
    "index_unavailable",
    "rate_limited",
]


class ServiceCode(ErrorCode):
    """What can go wrong between a question arriving and its answer leaving."""

    EMPTY_QUESTION = "empty_question"
    QUESTION_TOO_LONG = "question_too_long"
    INVALID_REQUEST = "invalid_request"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    UNAUTHORIZED = "unauthorized"
    GENERATOR_UNAVAILABLE = "generator_unavailable"


INTERNAL = LotseError(
    IngestCode.INTERNAL,
    "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es später noch einmal.",
    "An internal error occurred. Please try again later.",
)


def rate_limited(wait: float) -> LotseError:
    return LotseError(
        ServiceCode.RATE_LIMITED,
        f"Zu viele Fragen in kurzer Zeit. Bitte in {wait:.0f} Sekunden noch einmal versuchen.",
        f"Too many questions in a short time. Please try again in {wait:.0f} seconds.",
        retry_after=wait,
    )
