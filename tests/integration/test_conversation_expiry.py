"""Conversation expiry through POST /api/chat, with the store's clock under the test's control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fakes import never_refuse
from fastapi.testclient import TestClient
from sqlalchemy import select

from assistant.answer import AnswerEngine
from assistant.feedback import FeedbackStore, questions
from assistant.service import Service
from assistant.settings import Settings
from assistant.web.app import create_app

QUESTION = "Wann ist eine Datenschutz-Folgenabschätzung nötig?"
FOLLOW_UP = "Und wer berät dabei?"


class Clock:
    """A settable clock for FeedbackStore(clock=…)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: Settings, fake_index, tmp_path, clock: Clock) -> TestClient:  # type: ignore[no-untyped-def]
    settings.db.url = f"sqlite:///{tmp_path}/lotse.db"
    never_refuse(settings)  # not about refusal: never refuse
    # not about follow-up detection: a question with (unexpired) history always continues it
    settings.conversation.weights, settings.conversation.bias = {}, 5.0
    store = FeedbackStore(settings.db, settings.paths.data_dir, clock=clock)
    service = Service(settings, engine=AnswerEngine(settings, fake_index), store=store)
    with TestClient(create_app(settings, service)) as c:
        yield c


def logged_query(client: TestClient, answer_id: str) -> tuple[str, str]:
    """(conversation id, retrieval query) the question log holds for an answer."""
    store = client.app.state.service.store  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        row = conn.execute(select(questions).where(questions.c.answer_id == answer_id)).one()
    return row.conversation_id, row.query


def test_an_idle_conversation_expires(client: TestClient, clock: Clock, settings: Settings) -> None:
    minutes = settings.conversation.minutes
    first = client.post("/api/chat", json={"question": QUESTION}).json()
    conversation = first["conversation_id"]

    # just inside the window: the follow-up is searched together with the first question
    clock.advance(minutes=minutes - 1)
    inside = client.post("/api/chat", json={"question": FOLLOW_UP, "conversation_id": conversation})
    assert inside.status_code == 200 and inside.json()["conversation_id"] == conversation
    logged_conversation, query = logged_query(client, inside.json()["answer_id"])
    assert logged_conversation == conversation and FOLLOW_UP in query and QUESTION in query, query

    # idle for longer than the window since the last turn: the same id starts a fresh history
    clock.advance(minutes=minutes + 1)
    expired = client.post("/api/chat", json={"question": FOLLOW_UP, "conversation_id": conversation})
    assert expired.status_code == 200 and expired.json()["conversation_id"] == conversation
    logged_conversation, query = logged_query(client, expired.json()["answer_id"])
    assert logged_conversation == conversation and FOLLOW_UP in query and QUESTION not in query, query

    # and the expired turn only counts from now on: the next question continues the fresh one
    clock.advance(minutes=1)
    again = client.post("/api/chat", json={"question": "Und wann?", "conversation_id": conversation}).json()
    query = logged_query(client, again["answer_id"])[1]
    assert FOLLOW_UP in query and QUESTION not in query, query
