"""POST /api/feedback: 👍/👎 with an optional comment on an answer."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.web.deps import CallerDep, ServiceDep

router = APIRouter(tags=["feedback"])


class FeedbackRequest(BaseModel):
    answer_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


@router.post("/api/feedback", summary="👍/👎 zu einer Antwort")
async def give_feedback(body: FeedbackRequest, service: ServiceDep, caller: CallerDep) -> dict[str, bool]:
    service.limit("feedback:" + caller.client)
    rating = 1 if body.rating == "up" else -1
    await run_in_threadpool(service.feedback, body.answer_id, rating, body.comment, "web", caller.client)
    return {"ok": True}
