"""Lotse's behaviour in Slack, independent of how events arrive (HTTP route or Socket Mode).

Every entry point is a thin handler that turns into one call of the shared `Service`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from assistant.errors import LotseError
from assistant.language import detect_language
from assistant.ratelimit import RateLimiter
from assistant.service import Service
from assistant.settings import Settings, SlackScope
from assistant.slack.blocks import answer_blocks, fallback_text, home_view, labels
from ingest.types import Filters

log = logging.getLogger("lotse.slack")
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]+)?>")
Handler = Callable[..., None]


def conversation_key(channel: str, thread_ts: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"slack-{channel}-{thread_ts or 'dm'}")


def _ignored(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") or event.get("subtype"))


class SlackBot:
    """Answers mentions, DMs, thread follow-ups and /lotse; records feedback; shows help."""

    def __init__(self, settings: Settings, service: Service) -> None:
        self.settings = settings
        self.service = service
        self.limiter = RateLimiter(settings.slack.rate_limit_per_minute)

    def scope(self, channel: str) -> Filters:
        scope: SlackScope = self.settings.slack.channel_scopes.get(channel, self.settings.slack.default_scope)
        return Filters(doc_types=tuple(scope.doc_types), tags=tuple(scope.tags), visibility=tuple(scope.visibility))

    def answer(self, question: str, channel: str, thread_ts: str | None, user: str) -> dict[str, Any]:
        answer, _ = self.service.answer(question, conversation_key(channel, thread_ts), self.scope(channel), "slack", user)
        return answer.as_dict()

    def limited(self, user: str, language: str) -> str | None:
        """A friendly 'please wait' when the user asks too often, else None."""
        wait = self.limiter.check(user)
        if not wait:
            return None
        if language == "en":
            return f"You are asking a lot at once – please wait {wait:.0f} seconds and ask again."
        return f"Sie fragen gerade sehr viel auf einmal – bitte in {wait:.0f} Sekunden noch einmal fragen."

    def first_time(self, key: str) -> bool:
        """True once per message across retries, threads and worker processes."""
        return self.service.store.claim_event(key)

    def answered_thread(self, channel: str, thread_ts: str) -> bool:
        return bool(self.service.store.history(conversation_key(channel, thread_ts), 1, self.settings.conversation.minutes))

    def _try_answer(self, question: str, language: str, ask: Callable[[], dict[str, Any]]) -> dict[str, Any] | str:
        """The answer, or the text to show instead (empty question, limit, error)."""
        try:
            return ask()
        except LotseError as exc:
            return exc.text(language)
        except Exception:
            log.exception("answering in Slack failed")
            return labels(language)["sorry"]

    def reply_in_thread(self, client: WebClient, channel: str, thread_ts: str | None, question: str, user: str) -> None:
        """Placeholder, then the answer (or a short apology) replacing it."""
        language = detect_language(question) if question else "de"
        refusal = labels(language)["empty"] if not question else self.limited(user, language)
        if refusal:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=refusal)
            return
        placeholder = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=labels(language)["searching"])
        result = self._try_answer(question, language, lambda: self.answer(question, channel, thread_ts, user))
        if isinstance(result, str):
            client.chat_update(channel=channel, ts=placeholder["ts"], text=result, blocks=[])
            return
        messages = answer_blocks(result)
        client.chat_update(channel=channel, ts=placeholder["ts"], text=fallback_text(result), blocks=messages[0])
        for blocks in messages[1:]:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=fallback_text(result), blocks=blocks)

    # --- Bolt listeners (argument names are Bolt's) --------------------------------------

    def on_mention(self, event: dict[str, Any], client: WebClient) -> None:
        if _ignored(event) or not self.first_time(f"{event['channel']}:{event['ts']}"):
            return
        question = MENTION.sub("", event.get("text", "")).strip()
        self.reply_in_thread(client, event["channel"], event.get("thread_ts") or event["ts"], question, event.get("user", ""))

    def on_message(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """DMs always; thread messages only in threads Lotse answered (and not @-mentions)."""
        if _ignored(event):
            return
        text, channel, thread_ts = event.get("text", ""), event["channel"], event.get("thread_ts")
        direct = event.get("channel_type") == "im"
        mentioned = bool(context.bot_user_id) and f"<@{context.bot_user_id}" in text
        follow_up = bool(thread_ts) and not mentioned and self.answered_thread(channel, thread_ts or "")
        if (direct or follow_up) and self.first_time(f"{channel}:{event['ts']}"):
            self.reply_in_thread(client, channel, thread_ts, MENTION.sub("", text).strip(), event.get("user", ""))

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        """/lotse: an ephemeral answer with a share button."""
        ack()
        question = command.get("text", "").strip()
        language = detect_language(question) if question else "de"
        refusal = labels(language)["empty"] if not question else self.limited(command.get("user_id", ""), language)
        thread = f"cmd{command.get('trigger_id', '')}"
        ask = lambda: self.answer(question, command["channel_id"], thread, command.get("user_id", ""))  # noqa: E731
        result = refusal or self._try_answer(question, language, ask)
        if isinstance(result, str):
            respond(response_type="ephemeral", text=result)
            return
        respond(response_type="ephemeral", text=fallback_text(result), blocks=answer_blocks(result, ephemeral=True)[0])

    def on_share(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """'Im Kanal teilen': post a stored /lotse answer for everyone."""
        ack()
        stored = self.service.store.stored_answer(action["value"])
        channel = (body.get("channel") or {}).get("id")
        if stored is None or not channel:
            respond(response_type="ephemeral", replace_original=False, text=labels("de")["sorry"])
            return
        asked = "asked" if stored["language"] == "en" else "fragte"
        stored["text"] = f"<@{body['user']['id']}> {asked}: _{stored['question']}_\n\n{stored['text']}"
        for blocks in answer_blocks(stored):
            client.chat_postMessage(channel=channel, text=fallback_text(stored), blocks=blocks)
        respond(response_type="ephemeral", replace_original=True, text=labels(stored["language"])["shared"])

    def on_feedback(self, rating: int) -> Handler:
        def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
            ack()
            user = body["user"]["id"]
            stored = self.service.store.stored_answer(action["value"])
            language = stored["language"] if stored else "de"
            try:
                self.service.feedback(action["value"], rating, None, "slack", user)
                text = labels(language)["thanks"]
            except LotseError as exc:
                text = exc.text(language)
            channel = (body.get("channel") or {}).get("id")
            if channel:
                client.chat_postEphemeral(channel=channel, user=user, text=text)

        return handle

    def on_home(self, event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view=home_view())
