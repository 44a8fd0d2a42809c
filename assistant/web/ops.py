"""Health, readiness, metrics, the demo page, the widget script and the favicon."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from assistant.errors import LotseError
from assistant.service import Service
from assistant.web.deps import ServiceDep

STATIC = files("assistant.web") / "static"
router = APIRouter()


@router.get("/healthz", summary="Lebt der Dienst?", tags=["ops"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _readiness(service: Service) -> dict[str, Any]:
    store = service.engine.index.store
    chunks = store.count()
    documents = len({c.doc_id for c in store.iter_all()}) if chunks < 200_000 else None
    return {"ready": chunks > 0, "chroma": "ok", "index": store.name, "documents": documents, "chunks": chunks}


@router.get("/readyz", summary="Index geladen, Chroma erreichbar?", tags=["ops"])
async def readyz(service: ServiceDep) -> JSONResponse:
    try:
        status = await run_in_threadpool(_readiness, service)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with a reason
        detail = exc.message if isinstance(exc, LotseError) else type(exc).__name__
        return JSONResponse({"ready": False, "chroma": "unreachable", "detail": detail}, status_code=503)
    return JSONResponse(status, status_code=200 if status["ready"] else 503)


@router.get("/metrics", summary="Prometheus-Metriken", include_in_schema=False)
async def metrics(service: ServiceDep) -> Response:
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo() -> HTMLResponse:
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))


@router.get("/widget.js", include_in_schema=False)
async def widget(service: ServiceDep) -> Response:
    script = (STATIC / "widget.js").read_text(encoding="utf-8")
    script = script.replace("__LOTSE_MAX_CHARS__", str(service.settings.answer.max_question_chars))
    return Response(script, media_type="application/javascript; charset=utf-8", headers={"Cache-Control": "public, max-age=300"})


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    return Response((STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
