"""POST /api/chat (JSON) and /api/chat/stream (Server-Sent Events)."""

# no `from __future__ import annotations`: FastAPI must see the local ChatRequest class itself

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from assistant.errors import INTERNAL, LotseError
from assistant.service import Service
from assistant.types import Answer, Citation
from assistant.web.deps import Caller, CallerDep, ServiceDep
from assistant.web.errors import request_language
from ingest.types import Filters

log = logging.getLogger("lotse.web")


class ChatFields(BaseModel):
    question: str = Field(description="The question, German or English.")
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


def _sse_events(events: Iterator[tuple[str, object]], conversation: str | None) -> Iterator[tuple[str, Any]]:
    for event, payload in events:
        if event == "meta" and isinstance(payload, dict):
            conversation = payload["conversation_id"]
            yield event, payload
        elif event == "answer" and isinstance(payload, Answer):
            yield event, payload.as_dict() | {"conversation_id": conversation}
        else:
            yield event, {"text": payload} if event == "delta" else {}


async def _sse(events: Iterator[tuple[str, object]], conversation: str | None, language: str) -> AsyncIterator[dict[str, str]]:
    try:
        async for event, data in iterate_in_threadpool(_sse_events(events, conversation)):
            yield {"event": event, "data": json.dumps(data, ensure_ascii=False)}
    except LotseError as exc:
        yield {"event": "error", "data": json.dumps({"code": exc.code.value, "message": exc.text(language)}, ensure_ascii=False)}
    except Exception:
        log.exception("stream failed")
        yield {"event": "error", "data": json.dumps({"code": "internal", "message": INTERNAL.text(language)}, ensure_ascii=False)}
    yield {"event": "done", "data": "{}"}


def _start(request: Request, body: ChatFields, service: Service, caller: Caller) -> Filters:
    request.state.lang = body.lang
    service.limit(caller.client)
    return Filters(doc_types=tuple(body.doc_types), tags=tuple(body.tags), visibility=caller.visibility)


def chat_router(max_chars: int) -> APIRouter:
    """The chat routes, with the request body bounded by `max_chars`."""
    router = APIRouter(tags=["chat"])

    # the request body, its question bounded by the one setting (LOTSE_ANSWER__MAX_QUESTION_CHARS);
    # a class in this scope (no docstring: it would become the schema's description) that mypy sees as a ChatFields
    class ChatRequest(ChatFields):
        question: str = Field(max_length=max_chars, description="The question, German or English.")

    @router.post("/api/chat", response_model=ChatResponse, summary="Frage stellen, Antwort als JSON")
    async def chat(request: Request, body: ChatRequest, service: ServiceDep, caller: CallerDep) -> dict[str, Any]:
        filters = _start(request, body, service, caller)
        answer, conversation = await run_in_threadpool(
            service.answer, body.question, body.conversation_id, filters, "web", caller.client
        )
        return answer.as_dict() | {"conversation_id": conversation}

    @router.post("/api/chat/stream", summary="Frage stellen, Antwort als Server-Sent Events",
                 description="Events: meta {conversation_id}, delta {text}, reset {}, answer {…wie /api/chat…}, error {message}, done {}.")
    async def chat_stream(request: Request, body: ChatRequest, service: ServiceDep, caller: CallerDep) -> EventSourceResponse:
        filters = _start(request, body, service, caller)
        service.engine.validate(body.question)  # bad questions get a 4xx, not a stream
        events = service.stream(body.question, body.conversation_id, filters, "web", caller.client)
        return EventSourceResponse(_sse(events, body.conversation_id, request_language(request)), ping=15)

    return router
