"""Slack through the real FastAPI route with signed requests, against a mock Slack Web API."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from fakes import never_refuse
from fastapi.testclient import TestClient
from mock_slack_api import BOT_USER, MockSlackAPI
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from assistant.answer import AnswerEngine
from assistant.feedback import feedback as feedback_table
from assistant.service import Service
from assistant.settings import Settings, SlackScope
from assistant.slack.blocks import SECTION_LIMIT, answer_blocks, split_text
from lotse.asgi import build_app as create_app

SECRET = "signing-secret-123"
QUESTION = "Wann ist eine Datenschutz-Folgenabschätzung nötig?"


@pytest.fixture
def slack_api():  # type: ignore[no-untyped-def]
    mock = MockSlackAPI().start()
    yield mock
    mock.stop()


@pytest.fixture
def slack_settings(settings: Settings, slack_api: MockSlackAPI, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    settings.slack.bot_token = SecretStr("xoxb-test")
    settings.slack.signing_secret = SecretStr(SECRET)
    settings.slack.api_url = slack_api.api_url
    settings.db.url = f"sqlite:///{tmp_path}/slack.db"
    never_refuse(settings)  # about Slack, not refusal: never refuse
    # about Slack, not follow-up detection: a question in a conversation with history always
    # continues it (weights cleared so a tuned preset cannot change that)
    settings.conversation.weights, settings.conversation.bias = {}, 5.0
    return settings


@pytest.fixture
def service(slack_settings: Settings, fake_index) -> Service:  # type: ignore[no-untyped-def]
    return Service(slack_settings, engine=AnswerEngine(slack_settings, fake_index))


@pytest.fixture
def client(slack_settings: Settings, service: Service) -> TestClient:
    with TestClient(create_app(slack_settings, service)) as c:
        yield c


def signed(body: str, content_type: str, timestamp: int | None = None, secret: str = SECRET, **extra: str) -> dict[str, str]:
    ts = str(timestamp or int(time.time()))
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
            "Content-Type": content_type, **extra}


def send_event(client: TestClient, event: dict[str, Any], event_id: str = "Ev1", **headers: str) -> Any:
    body = json.dumps({"token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()), "event": event})
    return client.post("/slack/events", content=body, headers=signed(body, "application/json", **headers))


def send_form(client: TestClient, form: dict[str, str]) -> Any:
    body = urlencode(form)
    return client.post("/slack/events", content=body, headers=signed(body, "application/x-www-form-urlencoded"))


def mention(ts: str = "1700000000.000100", text: str = QUESTION, channel: str = "C1", user: str = "U1", **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel, **extra}


def drain(client: TestClient) -> None:
    """Barrier for "nothing was sent" checks: wait until every Bolt listener run so far has finished.

    Bolt acknowledges events at once and runs each listener as a task on its listener executor;
    the task is submitted inside `dispatch`, i.e. before the HTTP response reaches the test. Shutting
    the executor down with wait=True therefore returns only when every listener started by the
    requests sent so far has returned. Use it last in a test: the app takes no further events.
    """
    bolt = client.app.state.slack  # type: ignore[attr-defined]
    assert bolt is not None
    bolt.listener_runner.listener_executor.shutdown(wait=True)


def block_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_mention_answers_in_thread_replacing_a_placeholder(client: TestClient, slack_api: MockSlackAPI) -> None:
    started = time.monotonic()
    response = send_event(client, mention())
    assert response.status_code == 200 and time.monotonic() - started < 3
    placeholder = slack_api.wait_for("chat.postMessage")[0]
    assert placeholder["thread_ts"] == "1700000000.000100" and placeholder["text"] == "Lotse sucht in den Leitfäden …"
    update = slack_api.wait_for("chat.update")[0]
    assert update["channel"] == "C1" and update["ts"]
    blocks = block_text(update["blocks"])
    assert "[1]" in update["text"] and "*Quellen*" in blocks and "/sources/" in blocks
    assert "lotse_feedback_up" in blocks and "lotse_feedback_down" in blocks and "lotse_share" not in blocks


def test_direct_message(client: TestClient, slack_api: MockSlackAPI) -> None:
    send_event(client, {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "text": QUESTION, "ts": "1.1"})
    assert slack_api.wait_for("chat.update")[0]["channel"] == "D1"


def test_follow_up_in_an_answered_thread_only(client: TestClient, slack_api: MockSlackAPI, service: Service) -> None:
    send_event(client, mention(ts="100.1"), event_id="Ev1")
    slack_api.wait_for("chat.update")
    send_event(client, {"type": "message", "channel_type": "channel", "channel": "C1", "user": "U1",
                        "text": "Und wer berät dabei?", "ts": "100.2", "thread_ts": "100.1"}, event_id="Ev2")
    slack_api.wait_for("chat.update", 2)
    send_event(client, {"type": "message", "channel_type": "channel", "channel": "C1", "user": "U1",
                        "text": "Ganz andere Unterhaltung", "ts": "200.2", "thread_ts": "200.1"}, event_id="Ev3")
    drain(client)
    assert len(slack_api.of("chat.update")) == 2 and len(slack_api.of("chat.postMessage")) == 2
    history = service.store.history("slack-C1-100_1", 5, 60)
    assert [t.question for t in history] == [QUESTION, "Und wer berät dabei?"]
    assert QUESTION in history[1].condensed


def test_retries_and_duplicates_are_answered_once(client: TestClient, slack_api: MockSlackAPI) -> None:
    threads = [
        threading.Thread(target=send_event, args=(client, mention(ts="300.1")),
                         kwargs={"event_id": "Ev9", "X-Slack-Retry-Num": str(i), "X-Slack-Retry-Reason": "http_timeout"})
        for i in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the same message also arrives as a plain channel message event
    send_event(client, {"type": "message", "channel_type": "channel", "channel": "C1", "user": "U1", "text": f"<@{BOT_USER}> {QUESTION}",
                        "ts": "300.1"}, event_id="Ev10")
    drain(client)
    assert len(slack_api.of("chat.postMessage")) == 1 and len(slack_api.of("chat.update")) == 1


@pytest.mark.parametrize("event", [
    {"type": "message", "channel_type": "im", "channel": "D1", "bot_id": "B9", "text": QUESTION, "ts": "5.1"},
    {"type": "message", "subtype": "bot_message", "channel_type": "im", "channel": "D1", "text": QUESTION, "ts": "5.2"},
    {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D1", "ts": "5.3",
     "message": {"text": QUESTION, "user": "U1"}},
])
def test_bot_messages_and_edits_are_ignored(client: TestClient, slack_api: MockSlackAPI, event: dict[str, Any]) -> None:
    assert send_event(client, event).status_code == 200
    drain(client)
    assert not slack_api.of("chat.postMessage") and not slack_api.of("chat.update")


def test_slash_command_is_ephemeral_with_share_button_then_share_and_feedback(
    client: TestClient, slack_api: MockSlackAPI, service: Service
) -> None:
    response = send_form(client, {"command": "/lotse", "text": QUESTION, "channel_id": "C7", "user_id": "U1",
                                  "trigger_id": "trig1", "response_url": slack_api.response_url("r1"), "team_id": "T1"})
    assert response.status_code == 200
    reply = slack_api.wait_for("response/r1")[0]
    assert reply["response_type"] == "ephemeral" and "Im Kanal teilen" in block_text(reply["blocks"])
    answer_id = next(
        e["value"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "lotse_share"
    )

    def click(action_id: str, response: str) -> None:
        payload = {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C7"}, "team": {"id": "T1"},
                   "api_app_id": "A1", "token": "t", "trigger_id": "trig2", "response_url": slack_api.response_url(response),
                   "container": {"type": "message", "is_ephemeral": True},
                   "actions": [{"action_id": action_id, "block_id": "lotse_actions", "value": answer_id, "type": "button",
                                "action_ts": "1"}]}
        assert send_form(client, {"payload": json.dumps(payload)}).status_code == 200

    click("lotse_share", "r2")
    shared = slack_api.wait_for("chat.postMessage")[0]
    assert shared["channel"] == "C7" and "fragte" in shared["text"] and "[1]" in shared["text"]
    assert "geteilt" in slack_api.wait_for("response/r2")[0]["text"]
    click("lotse_feedback_down", "r3")
    thanks = slack_api.wait_for("chat.postEphemeral")[0]
    assert thanks["user"] == "U1" and "Danke" in thanks["text"]
    with service.store.engine.connect() as conn:
        row = conn.execute(select(feedback_table)).one()
    assert (row.answer_id, row.rating, row.channel) == (answer_id, -1, "slack")


def test_forged_and_replayed_requests_are_rejected(client: TestClient, slack_api: MockSlackAPI) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "EvX", "event": mention()})
    forged = client.post("/slack/events", content=body, headers=signed(body, "application/json", secret="wrong-secret"))
    old = client.post("/slack/events", content=body, headers=signed(body, "application/json", timestamp=int(time.time()) - 360))
    assert forged.status_code == 401 and old.status_code == 401
    drain(client)
    assert not slack_api.of("chat.postMessage")


def test_app_home_shows_help(client: TestClient, slack_api: MockSlackAPI) -> None:
    send_event(client, {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    view = slack_api.wait_for("views.publish")[0]
    assert view["user_id"] == "U1" and "/lotse" in json.dumps(view["view"], ensure_ascii=False)


def test_channel_scope_and_internal_documents(slack_settings: Settings, fake_index, slack_api: MockSlackAPI) -> None:  # type: ignore[no-untyped-def]
    slack_settings.slack.channel_scopes = {"CCHECK": SlackScope(doc_types=["checkliste"]), "CPUB": SlackScope(visibility=["public"])}
    service = Service(slack_settings, engine=AnswerEngine(slack_settings, fake_index))
    with TestClient(create_app(slack_settings, service)) as c:
        send_event(c, mention(ts="1.1", channel="CCHECK", text="Was muss ich vor dem Start klären?"), event_id="E1")
        checklist = block_text(slack_api.wait_for("chat.update")[0]["blocks"])
        assert "checkliste-start" in checklist and "leitfaden-datenschutz" not in checklist
        send_event(c, mention(ts="2.1", channel="CINT", text="Wer moderiert die Planungsrunde?"), event_id="E2")
        assert "planungsrunde-intern" in block_text(slack_api.wait_for("chat.update", 2)[1]["blocks"])
        send_event(c, mention(ts="3.1", channel="CPUB", text="Wer moderiert die Planungsrunde?"), event_id="E3")
        assert "planungsrunde-intern" not in block_text(slack_api.wait_for("chat.update", 3)[2]["blocks"])


def test_rate_limit_and_errors_are_friendly(  # type: ignore[no-untyped-def]
    slack_settings: Settings, fake_index, slack_api: MockSlackAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack_settings.slack.rate_limit_per_minute = 1
    service = Service(slack_settings, engine=AnswerEngine(slack_settings, fake_index))
    with TestClient(create_app(slack_settings, service)) as c:
        send_event(c, mention(ts="1.1"), event_id="E1")
        slack_api.wait_for("chat.update")
        send_event(c, mention(ts="1.2"), event_id="E2")
        limited = [m for m in slack_api.wait_for("chat.postMessage", 2) if "Sekunden" in m["text"]]
        assert limited and limited[0]["thread_ts"] == "1.2"
        slack_settings.slack.rate_limit_per_minute = 100

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("database password leaked?")

        monkeypatch.setattr(service, "answer", broken)
        send_event(c, mention(ts="1.3", user="U2"), event_id="E3")
        apology = slack_api.wait_for("chat.update", 2)[1]
        assert apology["text"].startswith("Entschuldigung") and "password" not in json.dumps(slack_api.calls)


def test_long_answers_are_split_within_slack_limits() -> None:
    text = " ".join(f"Satz {i} über den Digitalen Zwilling und seine Daten. [1]" for i in range(3000))
    pieces = split_text(text)
    assert len(pieces) > 10 and all(len(p) <= SECTION_LIMIT for p in pieces) and " ".join(pieces) == text
    messages = answer_blocks({"answer_id": "a", "text": text, "language": "de", "citations": [
        {"n": 1, "url": "http://x/sources/d#a", "section": "D › 1", "page": 2}]})
    assert len(messages) >= 2 and all(len(m) <= 50 for m in messages)
    assert all(len(b["text"]["text"]) <= 3000 for m in messages for b in m if b["type"] == "section")


def test_slack_stays_off_without_tokens(settings: Settings, fake_index) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, Service(settings, engine=AnswerEngine(settings, fake_index)))
    assert app.state.slack is None
    with TestClient(app) as c:
        assert c.post("/slack/events", content="{}").status_code == 404


def test_socket_mode_against_a_local_websocket_server(slack_settings: Settings, service: Service, slack_api: MockSlackAPI) -> None:
    from websockets.sync.server import serve

    from assistant.slack.app import socket_mode_handler

    acks: list[str] = []
    envelope = {"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False, "retry_attempt": 0,
                "payload": {"type": "event_callback", "event_id": "EvS", "team_id": "T1", "api_app_id": "A1",
                            "event": mention(ts="900.1", channel="CS")}}

    def session(websocket: Any) -> None:
        websocket.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        websocket.send(json.dumps(envelope))
        try:
            for message in websocket:
                acks.append(json.loads(message).get("envelope_id", ""))
        except Exception:  # noqa: BLE001 - the client may end the session in any way; only the acks so far matter
            pass

    with serve(session, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        slack_api.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link"
        slack_settings.slack.app_token = SecretStr("xapp-test")
        handler = socket_mode_handler(slack_settings, service)
        handler.connect()
        try:
            update = slack_api.wait_for("chat.update")[0]
            assert update["channel"] == "CS" and "[1]" in update["text"]
            assert slack_api.of("apps.connections.open") and "env-1" in acks
        finally:
            handler.close()
            server.shutdown()


def test_socket_mode_needs_its_tokens(settings: Settings) -> None:
    from assistant.slack.app import socket_mode_handler
    from ingest.errors import LotseError

    with pytest.raises(LotseError) as info:
        socket_mode_handler(settings)
    assert "LOTSE_SLACK__BOT_TOKEN" in info.value.message and "LOTSE_SLACK__APP_TOKEN" in info.value.message


def test_manifest_matches_what_the_bot_handles() -> None:
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load((Path(__file__).resolve().parents[2] / "deploy" / "slack-manifest.yaml").read_text(encoding="utf-8"))
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "app_home_opened", "message.im", "message.channels"} <= events
    assert manifest["features"]["slash_commands"][0]["command"] == "/lotse"
    assert {"chat:write", "commands", "app_mentions:read", "im:history"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert manifest["settings"]["socket_mode_enabled"] is True and manifest["settings"]["interactivity"]["is_enabled"]


def test_a_slow_slack_request_does_not_block_other_requests(client: TestClient, slack_api: MockSlackAPI) -> None:
    """Bolt's dispatch runs off the event loop: while one Slack request is held inside Bolt, /healthz answers."""
    bolt = client.app.state.slack  # type: ignore[attr-defined]
    entered, release = threading.Event(), threading.Event()

    def hold(next: Any) -> Any:  # Bolt passes the continuation by this name
        entered.set()
        assert release.wait(30), "the test never released the held Slack request"
        return next()

    bolt.use(hold)
    responses: list[Any] = []
    sender = threading.Thread(target=lambda: responses.append(send_event(client, mention(ts="400.1"), event_id="Ev40")))
    sender.start()
    try:
        assert entered.wait(30), "the Slack request never reached Bolt"
        health = client.get("/healthz")
        assert health.status_code == 200 and not release.is_set() and sender.is_alive(), "/healthz waited for Slack"
    finally:
        release.set()
        sender.join(30)
    assert responses and responses[0].status_code == 200
    slack_api.wait_for("chat.update")
