"""The FastAPI application: routers for chat, feedback, sources, admin and ops over one Service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from assistant.errors import LotseError
from assistant.service import Service
from assistant.settings import Settings
from assistant.web import admin, feedback, ops, sources
from assistant.web.chat import chat_router
from assistant.web.errors import install_error_handlers

log = logging.getLogger("lotse.web")


def _warm_up(service: Service) -> None:
    """Index, keyword index and embedding model, before the first question arrives."""
    engine = service.engine
    engine.index.keyword()
    engine.index.embedder.embed_queries(["Start"])


def create_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """The web app; pass a Service to share one engine (channels such as Slack add their routes)."""
    service = service or Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(_warm_up, service)
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

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        service.metrics.requests.labels(getattr(route, "path", "other"), str(response.status_code)).inc()
        return response

    install_error_handlers(app, settings.answer.max_question_chars)
    app.include_router(chat_router(settings.answer.max_question_chars))
    app.include_router(feedback.router)
    app.include_router(sources.router)
    app.include_router(admin.router, include_in_schema=settings.web.admin_token is not None)
    app.include_router(ops.router)
    return app
