"""The FastAPI application: chat (JSON and SSE), feedback, source view, health, metrics, widget."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import INTERNAL, ErrorCode, LotseError, index_unavailable, status_for
from assistant.retrieval import Filters
from assistant.settings import Settings
from assistant.types import Answer, Citation
from assistant.web.service import Service
from assistant.web.sources import render_document

log = logging.getLogger("lotse.web")
STATIC = files("assistant.web") / "static"


class ChatRequest(BaseModel):
    question: str = Field(max_length=20_000, description="The question, German or English.")
    conversation_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Continue this conversation.")
    lang: Literal["de", "en"] | None = Field(None, description="UI language for error messages.")
    doc_types: list[str] = Field(default_factory=list, max_length=10, description="Only these document types.")
    tags: list[str] = Field(default_factory=list, max_length=20, description="Only documents with one of these tags.")


class ChatResponse(BaseModel):
    answer_id: str
    conversation_id: str
    text: str
    citations: list[Citation]
    sources: list[Citation]
    refused: bool
    language: str
    timings: dict[str, float]
    notes: list[str]


class FeedbackRequest(BaseModel):
    answer_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


def _language(request: Request, body_lang: str | None = None) -> str:
    body_lang = body_lang or getattr(request.state, "lang", None)
    if body_lang in ("de", "en"):
        return body_lang
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "de"


def _error_response(error: LotseError, language: str) -> JSONResponse:
    headers = {}
    if error.code == ErrorCode.RATE_LIMITED:
        headers["Retry-After"] = str(max(1, round(getattr(error, "retry_after", 60))))
    return JSONResponse({"error": {"code": error.code.value, "message": error.text(language)}}, status_code=status_for(error), headers=headers)


def create_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """The web app, with /slack/events when Slack is configured; pass a Service to share an engine."""
    service = service or Service(settings)
    tokens = [t.get_secret_value() for t in settings.web.api_tokens if t.get_secret_value()]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            # warm up: index, keyword index and the embedding model, before the first question
            await run_in_threadpool(lambda: (service.engine.index.keyword(), service.engine.index.embedder.embed_queries(["Start"])))
        except LotseError as exc:
            log.warning("starting without an index: %s", exc.message)
        yield

    app = FastAPI(
        title="Lotse", version="0.1.0", lifespan=lifespan,
        description="Antworten aus den Leitfäden, Checklisten und Vorlagen zu kommunalen Digitalen Zwillingen – mit Quellen.",
    )
    app.state.service = service
    app.add_middleware(CORSMiddleware, allow_origins=settings.web.cors_origins, allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type", "Authorization", "Accept-Language"], expose_headers=["Retry-After"], max_age=600)

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        return bool(token) and any(hmac.compare_digest(token, t) for t in tokens)

    def filters_for(request: Request, body: ChatRequest) -> Filters:
        visibility = ("public", "internal") if authorised(request) else ("public",)
        return Filters(doc_types=tuple(body.doc_types), tags=tuple(body.tags), visibility=visibility)

    def client(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        service.metrics.requests.labels(getattr(route, "path", "other"), str(response.status_code)).inc()
        return response

    @app.exception_handler(LotseError)
    async def lotse_error(request: Request, exc: LotseError) -> JSONResponse:
        return _error_response(exc, _language(request))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", [])[1:]) or "body" for e in exc.errors()[:3])
        error = LotseError(ErrorCode.INVALID_REQUEST, f"Ungültige Anfrage (Feld: {fields}).", f"Invalid request (field: {fields}).")
        return _error_response(error, _language(request))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _error_response(LotseError(ErrorCode.NOT_FOUND, "Nicht gefunden.", "Not found."), _language(request))
        message = LotseError(ErrorCode.INVALID_REQUEST, "Anfrage nicht möglich.", "Request not possible.")
        response = _error_response(message, _language(request))
        response.status_code = exc.status_code
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _error_response(INTERNAL, _language(request))

    @app.post("/api/chat", response_model=ChatResponse, summary="Frage stellen, Antwort als JSON")
    async def chat(request: Request, body: ChatRequest) -> dict[str, Any]:
        request.state.lang = body.lang
        service.limit(client(request))
        answer, conversation = await run_in_threadpool(
            service.answer, body.question, body.conversation_id, filters_for(request, body), "web", client(request)
        )
        return answer.as_dict() | {"conversation_id": conversation}

    @app.post("/api/chat/stream", summary="Frage stellen, Antwort als Server-Sent Events",
              description="Events: meta {conversation_id}, delta {text}, reset {}, answer {…wie /api/chat…}, error {message}, done {}.")
    async def chat_stream(request: Request, body: ChatRequest) -> EventSourceResponse:
        request.state.lang = body.lang
        service.limit(client(request))
        language = _language(request, body.lang)
        service.engine.validate(body.question)  # bad questions get a 4xx, not a stream
        events = service.stream(body.question, body.conversation_id, filters_for(request, body), "web", client(request))

        async def sse() -> AsyncIterator[dict[str, str]]:
            conversation = body.conversation_id
            try:
                async for event, payload in iterate_in_threadpool(events):
                    if event == "meta":
                        conversation = payload["conversation_id"]  # type: ignore[index]
                        data: Any = payload
                    elif event == "answer":
                        assert isinstance(payload, Answer)
                        data = payload.as_dict() | {"conversation_id": conversation}
                    elif event == "delta":
                        data = {"text": payload}
                    else:
                        data = {}
                    yield {"event": event, "data": json.dumps(data, ensure_ascii=False)}
            except LotseError as exc:
                yield {"event": "error", "data": json.dumps({"code": exc.code.value, "message": exc.text(language)}, ensure_ascii=False)}
            except Exception:
                log.exception("stream failed")
                yield {"event": "error", "data": json.dumps({"code": "internal", "message": INTERNAL.text(language)}, ensure_ascii=False)}
            yield {"event": "done", "data": "{}"}

        return EventSourceResponse(sse(), ping=15)

    @app.post("/api/feedback", summary="👍/👎 zu einer Antwort")
    async def give_feedback(request: Request, body: FeedbackRequest) -> dict[str, bool]:
        service.limit("feedback:" + client(request))
        await run_in_threadpool(service.feedback, body.answer_id, 1 if body.rating == "up" else -1, body.comment, "web", client(request))
        return {"ok": True}

    def document_chunks(request: Request, doc_id: str) -> list[Any]:
        try:
            chunks = service.engine.index.store.document(doc_id)
        except LotseError:
            raise
        except Exception as exc:
            raise index_unavailable() from exc
        visible = [c for c in chunks if c.metadata.get("visibility") == "public" or authorised(request)]
        if not visible:
            raise LotseError(ErrorCode.NOT_FOUND, f"Dokument „{doc_id}“ nicht gefunden.", f"Document '{doc_id}' not found.")
        return visible

    def original_path(chunks: list[Any]) -> Path | None:
        corpus = settings.paths.corpus_dir.resolve()
        for source in str(chunks[0].metadata.get("sources", "")).split("\n"):
            path = Path(source).resolve() if source else None
            if path and path.is_file() and path.is_relative_to(corpus):
                return path
        return None

    @app.get("/sources/{doc_id}", response_class=HTMLResponse, summary="Dokument lesen (Anker je Abschnitt)")
    async def source(request: Request, doc_id: str) -> HTMLResponse:
        chunks = await run_in_threadpool(document_chunks, request, doc_id)
        return HTMLResponse(render_document(doc_id, chunks, original_path(chunks) is not None))

    @app.get("/sources/{doc_id}/original", summary="Originaldatei herunterladen")
    async def original(request: Request, doc_id: str) -> FileResponse:
        chunks = await run_in_threadpool(document_chunks, request, doc_id)
        path = original_path(chunks)
        if path is None:
            raise LotseError(ErrorCode.NOT_FOUND, "Die Originaldatei liegt auf diesem Server nicht vor.", "The original file is not on this server.")
        return FileResponse(path, filename=path.name)

    from assistant.slack.app import mount

    app.state.slack = mount(app, settings, service)

    admin_token = settings.web.admin_token.get_secret_value() if settings.web.admin_token else ""

    @app.post("/api/admin/ingest", summary="Korpus neu einlesen (Admin-Token nötig)", include_in_schema=bool(admin_token))
    async def admin_ingest(request: Request) -> dict[str, Any]:
        header = request.headers.get("authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not admin_token:
            raise LotseError(ErrorCode.NOT_FOUND, "Nicht gefunden.", "Not found.")
        if not (given and hmac.compare_digest(given, admin_token)):
            raise LotseError(ErrorCode.UNAUTHORIZED, "Admin-Token fehlt oder ist falsch.", "Admin token missing or wrong.")
        from ingest.pipeline import run_ingest

        report = await run_in_threadpool(run_ingest, service.engine.index, settings)
        return {"new": len(report.new), "changed": len(report.changed), "unchanged": len(report.unchanged),
                "deleted": len(report.deleted), "failed": [{"file": f, "reason": r} for f, r in report.failed],
                "chunks": report.chunks_total, "seconds": round(report.seconds, 2)}

    @app.get("/healthz", summary="Lebt der Dienst?")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Index geladen, Chroma erreichbar?")
    async def readyz() -> JSONResponse:
        def check() -> dict[str, Any]:
            engine = service.engine
            chunks = engine.index.store.count()
            documents = len({m.metadata.get("doc_id") for m in engine.index.store.iter_all()}) if chunks < 200_000 else None
            return {"ready": chunks > 0, "chroma": "ok", "index": engine.index.name, "documents": documents, "chunks": chunks}

        try:
            status = await run_in_threadpool(check)
        except Exception as exc:
            message = exc.message if isinstance(exc, LotseError) else f"{type(exc).__name__}"
            return JSONResponse({"ready": False, "chroma": "unreachable", "detail": message}, status_code=503)
        return JSONResponse(status, status_code=200 if status["ready"] else 503)

    @app.get("/metrics", summary="Prometheus-Metriken", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> Response:
        return Response((STATIC / "widget.js").read_text(encoding="utf-8"), media_type="application/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})

    return app
