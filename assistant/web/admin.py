"""POST /api/admin/ingest: re-read the corpus (only with the admin token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from assistant.web.deps import ServiceDep, require_admin
from ingest.pipeline import run_ingest

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])


@router.post("/api/admin/ingest", summary="Korpus neu einlesen (Admin-Token nötig)")
async def admin_ingest(service: ServiceDep) -> dict[str, Any]:
    report = await run_in_threadpool(run_ingest, service.engine.index, service.settings)
    return {
        "new": len(report.new), "changed": len(report.changed), "unchanged": len(report.unchanged),
        "deleted": len(report.deleted), "failed": [{"file": f, "reason": r} for f, r in report.failed],
        "chunks": report.chunks_total, "seconds": round(report.seconds, 2),
    }
