"""The Bolt app: every Slack entry point turns into one call of the shared `Service`.

HTTP events arrive through the FastAPI route /slack/events (signatures checked by Bolt);
Socket Mode runs the same app via `lotse slack`. Bolt acknowledges at once and runs the
listeners in worker threads, so answers never hold up the 3-second acknowledgement.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from starlette.requests import Request

from assistant.language import detect_language
from assistant.ratelimit import RateLimiter
from assistant.retrieval import Filters
from assistant.settings import Settings, SlackScope
from assistant.slack.blocks import answer_blocks, fallback_text, home_view, labels
from assistant.web.service import Service
from ingest.errors import ErrorCode, LotseError

log = logging.getLogger("lotse.slack")
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]+)?>")
IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join", "channel_leave", "thread_broadcast"}


def slack_configured(settings: Settings, socket_mode: bool = False) -> str | None:
    """None when Slack can start, else a German message naming what is missing."""
    s = settings.slack
    missing = [name for name, value in (("LOTSE_SLACK__BOT_TOKEN", s.bot_token),
                                        ("LOTSE_SLACK__APP_TOKEN" if socket_mode else "LOTSE_SLACK__SIGNING_SECRET",
                                         s.app_token if socket_mode else s.signing_secret))
               if value is None or not value.get_secret_value()]
    if missing:
        return f"Slack ist nicht eingerichtet: {', '.join(missing)} fehlt (siehe README, Abschnitt Slack)."
    return None


def conversation_key(channel: str, thread_ts: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"slack-{channel}-{thread_ts or 'dm'}")


class SlackBot:
    """Lotse's behaviour in Slack, independent of how events arrive."""

    def __init__(self, settings: Settings, service: Service) -> None:
        self.settings = settings
        self.service = service
        self.limiter = RateLimiter(settings.slack.rate_limit_per_minute)

    def scope(self, channel: str) -> Filters:
        scope: SlackScope = self.settings.slack.channel_scopes.get(channel, self.settings.slack.default_scope)
        return Filters(doc_types=tuple(scope.doc_types), tags=tuple(scope.tags), visibility=tuple(scope.visibility))

    def _answer(self, question: str, channel: str, thread_ts: str | None, user: str) -> dict[str, Any]:
        answer, _ = self.service.answer(question, conversation_key(channel, thread_ts), self.scope(channel), "slack", user)
        return answer.as_dict()

    def _limited(self, user: str, language: str) -> str | None:
        wait = self.limiter.check(user)
        if not wait:
            return None
        if language == "en":
            return f"You are asking a lot at once – please wait {wait:.0f} seconds and ask again."
        return f"Sie fragen gerade sehr viel auf einmal – bitte in {wait:.0f} Sekunden noch einmal fragen."

    def reply_in_thread(self, client: WebClient, channel: str, thread_ts: str | None, question: str, user: str) -> None:
        """Placeholder, then the answer (or a short apology) replacing it."""
        language = detect_language(question) if question else "de"
        words = labels(language)
        if not question:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=words["empty"])
            return
        limited = self._limited(user, language)
        if limited:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=limited)
            return
        placeholder = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=words["searching"])
        try:
            answer = self._answer(question, channel, thread_ts, user)
        except LotseError as exc:
            client.chat_update(channel=channel, ts=placeholder["ts"], text=exc.text(language), blocks=[])
            return
        except Exception:
            log.exception("answering in Slack failed")
            client.chat_update(channel=channel, ts=placeholder["ts"], text=words["sorry"], blocks=[])
            return
        messages = answer_blocks(answer)
        client.chat_update(channel=channel, ts=placeholder["ts"], text=fallback_text(answer), blocks=messages[0])
        for blocks in messages[1:]:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=fallback_text(answer), blocks=blocks)

    def answered_thread(self, channel: str, thread_ts: str) -> bool:
        return bool(self.service.store.history(conversation_key(channel, thread_ts), 1, self.settings.web.conversation_minutes))


def build_bolt_app(settings: Settings, service: Service) -> App:
    """The Bolt app with all listeners, talking to the Web API at `settings.slack.api_url`."""
    slack = settings.slack
    token = slack.bot_token.get_secret_value() if slack.bot_token else None
    client = WebClient(token=token, base_url=slack.api_url)
    app = App(
        client=client,
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else "unused-in-socket-mode",
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    bot = SlackBot(settings, service)

    def first_time(key: str) -> bool:
        return service.store.claim_event(key)

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client: WebClient) -> None:
        if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES:
            return
        if not first_time(f"{event['channel']}:{event['ts']}"):
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        question = MENTION.sub("", event.get("text", "")).strip()
        bot.reply_in_thread(client, event["channel"], thread_ts, question, event.get("user", ""))

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES or event.get("subtype"):
            return
        text = event.get("text", "")
        channel, thread_ts = event["channel"], event.get("thread_ts")
        if event.get("channel_type") == "im":
            if not first_time(f"{channel}:{event['ts']}"):
                return
            bot.reply_in_thread(client, channel, thread_ts, MENTION.sub("", text).strip(), event.get("user", ""))
            return
        mentioned = context.bot_user_id and f"<@{context.bot_user_id}" in text
        if thread_ts and not mentioned and bot.answered_thread(channel, thread_ts):
            if first_time(f"{channel}:{event['ts']}"):
                bot.reply_in_thread(client, channel, thread_ts, text.strip(), event.get("user", ""))

    @app.command("/lotse")
    def on_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        question = command.get("text", "").strip()
        language = detect_language(question) if question else "de"
        words = labels(language)
        if not question:
            respond(response_type="ephemeral", text=words["empty"])
            return
        limited = bot._limited(command.get("user_id", ""), language)
        if limited:
            respond(response_type="ephemeral", text=limited)
            return
        try:
            answer = bot._answer(question, command["channel_id"], f"cmd{command.get('trigger_id', '')}", command.get("user_id", ""))
        except LotseError as exc:
            respond(response_type="ephemeral", text=exc.text(language))
            return
        except Exception:
            log.exception("answering /lotse failed")
            respond(response_type="ephemeral", text=words["sorry"])
            return
        messages = answer_blocks(answer, ephemeral=True)
        respond(response_type="ephemeral", text=fallback_text(answer), blocks=messages[0])

    @app.action("lotse_share")
    def on_share(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        stored = service.store.stored_answer(action["value"])
        channel = (body.get("channel") or {}).get("id")
        if stored is None or not channel:
            respond(response_type="ephemeral", replace_original=False, text=labels("de")["sorry"])
            return
        stored["text"] = f"<@{body['user']['id']}> fragte: _{stored['question']}_\n\n{stored['text']}" if stored["language"] != "en" \
            else f"<@{body['user']['id']}> asked: _{stored['question']}_\n\n{stored['text']}"
        for blocks in answer_blocks(stored):
            client.chat_postMessage(channel=channel, text=fallback_text(stored), blocks=blocks)
        respond(response_type="ephemeral", replace_original=True, text=labels(stored["language"])["shared"])

    def feedback(rating: int):  # type: ignore[no-untyped-def]
        def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
            ack()
            user = body["user"]["id"]
            stored = service.store.stored_answer(action["value"])
            language = stored["language"] if stored else "de"
            try:
                service.feedback(action["value"], rating, None, "slack", user)
                text = labels(language)["thanks"]
            except LotseError as exc:
                text = exc.text(language)
            channel = (body.get("channel") or {}).get("id")
            if channel:
                client.chat_postEphemeral(channel=channel, user=user, text=text)
        return handle

    app.action("lotse_feedback_up")(feedback(+1))
    app.action("lotse_feedback_down")(feedback(-1))

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view=home_view())

    @app.error
    def on_error(error: Exception) -> None:
        log.error("Slack listener failed: %s", type(error).__name__)

    return app


def mount(fastapi_app: Any, settings: Settings, service: Service) -> App | None:
    """Add POST /slack/events to the web app when Slack is configured (else say why not)."""
    problem = slack_configured(settings)
    if problem:
        log.info("%s Die Route /slack/events bleibt aus.", problem)
        return None
    from slack_bolt.adapter.fastapi import SlackRequestHandler

    bolt = build_bolt_app(settings, service)
    handler = SlackRequestHandler(bolt)

    @fastapi_app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Any:
        return await handler.handle(request)

    return bolt


def socket_mode_handler(settings: Settings, service: Service | None = None) -> Any:
    """A Socket Mode connection for the Bolt app (connects out to Slack, no public URL needed)."""
    problem = slack_configured(settings, socket_mode=True)
    if problem:
        raise LotseError(ErrorCode.CONFIGURATION, problem)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    bolt = build_bolt_app(settings, service or Service(settings))
    app_token = settings.slack.app_token.get_secret_value()  # type: ignore[union-attr]
    return SocketModeHandler(bolt, app_token, trace_enabled=False)


def run_socket_mode(settings: Settings) -> None:
    """Serve Slack over Socket Mode until interrupted."""
    socket_mode_handler(settings).start()
