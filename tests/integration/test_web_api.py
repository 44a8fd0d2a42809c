"""The web API through FastAPI's TestClient, on the small corpus with the fake embedder."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fakes import never_refuse
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from assistant.answer import AnswerEngine
from assistant.feedback import feedback as feedback_table
from assistant.feedback import questions as questions_table
from assistant.service import Service
from assistant.settings import Settings
from assistant.web.app import create_app

QUESTION = "Wann ist eine Datenschutz-Folgenabschätzung nötig?"


@pytest.fixture
def service(settings: Settings, fake_index, tmp_path) -> Service:  # type: ignore[no-untyped-def]
    settings.db.url = f"sqlite:///{tmp_path}/lotse.db"
    settings.web.api_tokens = [SecretStr("intern-123")]
    never_refuse(settings)  # not about refusal: never refuse
    return Service(settings, engine=AnswerEngine(settings, fake_index))


@pytest.fixture
def client(settings: Settings, service: Service) -> TestClient:
    with TestClient(create_app(settings, service)) as c:
        yield c


def sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        name = next((line[6:].strip() for line in lines if line.startswith("event:")), None)
        data = "\n".join(line[5:].lstrip() for line in lines if line.startswith("data:"))
        if name:
            events.append((name, json.loads(data) if data else None))
    return events


def test_chat_json(client: TestClient) -> None:
    response = client.post("/api/chat", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"answer_id", "conversation_id", "text", "citations", "refused", "language", "timings"}
    assert body["language"] == "de" and not body["refused"] and body["citations"]
    first = body["citations"][0]
    assert first["url"].endswith(f"/sources/{first['doc_id']}#{first['anchor']}") and first["section"]


def test_follow_up_uses_the_conversation(client: TestClient, service: Service) -> None:
    first = client.post("/api/chat", json={"question": QUESTION}).json()
    second = client.post("/api/chat", json={"question": "Und wer berät dabei?", "conversation_id": first["conversation_id"]}).json()
    assert second["conversation_id"] == first["conversation_id"]
    with service.store.engine.connect() as conn:
        query = conn.execute(select(questions_table.c.query).where(questions_table.c.answer_id == second["answer_id"])).scalar_one()
    assert QUESTION in query
    other = client.post("/api/chat", json={"question": "Und wer berät dabei?"}).json()
    assert other["conversation_id"] != first["conversation_id"]


def test_stream_sends_meta_deltas_answer_done(client: TestClient) -> None:
    with client.stream("POST", "/api/chat/stream", json={"question": QUESTION}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = sse_events("".join(response.iter_text()))
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-2:] == ["answer", "done"] and "delta" in names
    answer = events[-2][1]
    assert answer["citations"] and answer["conversation_id"] == events[0][1]["conversation_id"]
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert "[1]" in streamed


def test_feedback_round_trip(client: TestClient, service: Service) -> None:
    answer = client.post("/api/chat", json={"question": QUESTION}).json()
    ok = client.post("/api/feedback", json={"answer_id": answer["answer_id"], "rating": "down", "comment": "Zu allgemein"})
    assert ok.status_code == 200 and ok.json() == {"ok": True}
    with service.store.engine.connect() as conn:
        row = conn.execute(select(feedback_table)).one()
    assert (row.rating, row.comment, row.channel) == (-1, "Zu allgemein", "web")
    assert row.user and "testclient" not in row.user  # pseudonymised
    unknown = client.post("/api/feedback", json={"answer_id": "nope", "rating": "up"})
    assert unknown.status_code == 404 and "nicht bekannt" in unknown.json()["error"]["message"]


@pytest.mark.parametrize(
    "payload, headers, status, words",
    [
        ({"question": "   "}, {}, 422, "Bitte eine Frage eingeben"),
        ({"question": "x" * 1200}, {}, 422, "zu lang"),
        ({"question": "x" * 1200, "lang": "en"}, {}, 422, "too long"),
        ({"question": "   "}, {"Accept-Language": "en-GB"}, 422, "Please enter a question"),
        ({"question": QUESTION, "conversation_id": "../../etc"}, {}, 422, "Ungültige Anfrage"),
        ({}, {}, 422, "Ungültige Anfrage (Feld: question)"),
    ],
)
def test_bad_requests_get_readable_4xx(
    client: TestClient, payload: dict[str, Any], headers: dict[str, str], status: int, words: str
) -> None:
    for path in ("/api/chat", "/api/chat/stream"):
        response = client.post(path, json=payload, headers=headers)
        assert response.status_code == status
        assert words in response.json()["error"]["message"]
        assert "Traceback" not in response.text


def test_rate_limit(settings: Settings, fake_index, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.web.rate_limit_per_minute = 2
    settings.db.url = f"sqlite:///{tmp_path}/limit.db"
    with TestClient(create_app(settings, Service(settings, engine=AnswerEngine(settings, fake_index)))) as c:
        assert [c.post("/api/chat", json={"question": QUESTION}).status_code for _ in range(2)] == [200, 200]
        limited = c.post("/api/chat", json={"question": QUESTION})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "Zu viele Fragen" in limited.json()["error"]["message"]


def test_cors_allowlist(client: TestClient) -> None:
    allowed = client.options("/api/chat", headers={"Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "POST"})
    assert allowed.headers.get("access-control-allow-origin") == "http://127.0.0.1:8000"
    denied = client.options("/api/chat", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in denied.headers


def test_internal_documents_need_a_token(client: TestClient) -> None:
    question = {"question": "Wer moderiert die Planungsrunde und wo liegt die Ablage?"}
    public = client.post("/api/chat", json=question).json()
    assert all(c["doc_id"] != "planungsrunde-intern" for c in public["citations"] + public["sources"])
    internal = client.post("/api/chat", json=question, headers={"Authorization": "Bearer intern-123"}).json()
    assert any(c["doc_id"] == "planungsrunde-intern" for c in internal["citations"] + internal["sources"])
    assert client.get("/sources/planungsrunde-intern").status_code == 404
    assert client.get("/sources/planungsrunde-intern/original").status_code == 404
    assert client.get("/sources/planungsrunde-intern", headers={"Authorization": "Bearer falsch"}).status_code == 404
    assert client.get("/sources/planungsrunde-intern", headers={"Authorization": "Bearer intern-123"}).status_code == 200


def test_source_view_has_the_cited_anchors(client: TestClient) -> None:
    answer = client.post("/api/chat", json={"question": QUESTION}).json()
    for citation in answer["citations"]:
        page = client.get(f"/sources/{citation['doc_id']}")
        assert page.status_code == 200 and f'id="{citation["anchor"]}"' in page.text
    pdf = client.get("/sources/leitfaden-betrieb")
    assert 'id="2-aktualisierung"' in pdf.text and "Seite 2" in pdf.text and "Originaldatei herunterladen" in pdf.text
    download = client.get("/sources/leitfaden-betrieb/original")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert client.get("/sources/gibt-es-nicht").status_code == 404


def test_health_ready_metrics_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] and ready["chunks"] > 0 and ready["documents"] == 5 and ready["chroma"] == "ok"
    client.post("/api/chat", json={"question": QUESTION})
    metrics = client.get("/metrics").text
    assert 'lotse_requests_total{route="/api/chat",status="200"}' in metrics
    assert "lotse_answer_seconds_bucket" in metrics and "lotse_answers_total" in metrics
    assert client.get("/openapi.json").json()["paths"]["/api/chat"]
    assert client.get("/docs").status_code == 200


def test_unexpected_errors_never_show_a_trace(settings: Settings, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(create_app(settings, service), raise_server_exceptions=False)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service.engine, "stream", broken)
    response = client.post("/api/chat", json={"question": QUESTION})
    assert response.status_code == 500
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    assert "interner Fehler" in response.json()["error"]["message"]
    with client.stream("POST", "/api/chat/stream", json={"question": QUESTION}) as streamed:
        events = sse_events("".join(streamed.iter_text()))
    assert ("error", {"code": "internal", "message": events[-2][1]["message"]}) == events[-2]
    assert "secret" not in json.dumps(events)
