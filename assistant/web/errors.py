"""How a `LotseError` becomes an HTTP response: one status table, one JSON shape, no traces."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import INTERNAL, ErrorCode, IngestCode, LotseError, ServiceCode

log = logging.getLogger("lotse.web")

HTTP_STATUS: dict[ErrorCode, int] = {
    ServiceCode.EMPTY_QUESTION: 422,
    ServiceCode.QUESTION_TOO_LONG: 422,
    ServiceCode.INVALID_REQUEST: 422,
    ServiceCode.RATE_LIMITED: 429,
    ServiceCode.NOT_FOUND: 404,
    ServiceCode.UNAUTHORIZED: 401,
    IngestCode.INDEX_UNAVAILABLE: 503,
    ServiceCode.GENERATOR_UNAVAILABLE: 503,
}


def request_language(request: Request) -> str:
    """The language errors are told in: the body's `lang`, else Accept-Language, else German."""
    chosen = getattr(request.state, "lang", None)
    if chosen in ("de", "en"):
        return str(chosen)
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "de"


def error_response(error: LotseError, language: str, status: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(max(1, round(error.retry_after)))} if error.retry_after else {}
    body = {"error": {"code": error.code.value, "message": error.text(language)}}
    return JSONResponse(body, status_code=status or HTTP_STATUS.get(error.code, 500), headers=headers)


def _validation_error(exc: RequestValidationError, max_chars: int) -> LotseError:
    errors = exc.errors()
    if any(e.get("type") == "string_too_long" and tuple(e.get("loc", ()))[-1:] == ("question",) for e in errors):
        return LotseError(
            ServiceCode.QUESTION_TOO_LONG,
            f"Die Frage ist zu lang (höchstens {max_chars} Zeichen). Bitte kürzer fassen.",
            f"The question is too long (at most {max_chars} characters). Please shorten it.",
        )
    fields = ", ".join(".".join(str(p) for p in e.get("loc", [])[1:]) or "body" for e in errors[:3])
    return LotseError(ServiceCode.INVALID_REQUEST, f"Ungültige Anfrage (Feld: {fields}).", f"Invalid request (field: {fields}).")


def install_error_handlers(app: FastAPI, max_chars: int) -> None:
    """Every failure leaves as `{"error": {"code", "message"}}` in the asker's language."""

    @app.exception_handler(LotseError)
    async def lotse_error(request: Request, exc: LotseError) -> JSONResponse:
        return error_response(exc, request_language(request))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = exc.body if isinstance(exc.body, dict) else {}
        if body.get("lang") in ("de", "en"):
            request.state.lang = body["lang"]
        return error_response(_validation_error(exc, max_chars), request_language(request))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(LotseError(ServiceCode.NOT_FOUND, "Nicht gefunden.", "Not found."), request_language(request))
        error = LotseError(ServiceCode.INVALID_REQUEST, "Anfrage nicht möglich.", "Request not possible.")
        return error_response(error, request_language(request), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(INTERNAL, request_language(request))
