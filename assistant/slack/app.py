"""The Bolt app and how Slack reaches it: the HTTP route /slack/events or Socket Mode.

Bolt acknowledges at once and runs listeners in worker threads, so answers never hold up
Slack's 3-second acknowledgement; the HTTP route dispatches off the event loop, so a slow
Slack request never blocks other web requests.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from assistant.errors import configuration_error
from assistant.service import Service
from assistant.settings import Settings
from assistant.slack.bot import SlackBot

log = logging.getLogger("lotse.slack")


def slack_configured(settings: Settings, socket_mode: bool = False) -> str | None:
    """None when Slack can start, else a German message naming what is missing."""
    s = settings.slack
    second = ("LOTSE_SLACK__APP_TOKEN", s.app_token) if socket_mode else ("LOTSE_SLACK__SIGNING_SECRET", s.signing_secret)
    missing = [name for name, value in (("LOTSE_SLACK__BOT_TOKEN", s.bot_token), second) if value is None or not value.get_secret_value()]
    if missing:
        return f"Slack ist nicht eingerichtet: {', '.join(missing)} fehlt (siehe README, Abschnitt Slack)."
    return None


def build_bolt_app(settings: Settings, service: Service) -> App:
    """The Bolt app with all listeners, talking to the Web API at `settings.slack.api_url`."""
    slack = settings.slack
    token = slack.bot_token.get_secret_value() if slack.bot_token else None
    app = App(
        client=WebClient(token=token, base_url=slack.api_url),
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else "unused-in-socket-mode",
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    bot = SlackBot(settings, service)
    app.event("app_mention")(bot.on_mention)
    app.event("message")(bot.on_message)
    app.event("app_home_opened")(bot.on_home)
    app.command("/lotse")(bot.on_command)
    app.action("lotse_share")(bot.on_share)
    app.action("lotse_feedback_up")(bot.on_feedback(+1))
    app.action("lotse_feedback_down")(bot.on_feedback(-1))
    app.error(_log_error)
    return app


def _log_error(error: Exception) -> None:
    log.error("Slack listener failed: %s", type(error).__name__)


def mount(web: FastAPI, settings: Settings, service: Service) -> App | None:
    """Add POST /slack/events to the web app when Slack is configured (else log why not)."""
    problem = slack_configured(settings)
    if problem:
        log.info("%s Die Route /slack/events bleibt aus.", problem)
        return None
    bolt = build_bolt_app(settings, service)

    async def slack_events(request: Request) -> Response:
        bolt_request = to_bolt_request(request, await request.body())
        return to_starlette_response(await run_in_threadpool(bolt.dispatch, bolt_request))

    web.add_api_route("/slack/events", slack_events, methods=["POST"], include_in_schema=False)
    return bolt


def socket_mode_handler(settings: Settings, service: Service | None = None) -> Any:
    """A Socket Mode connection for the Bolt app (connects out to Slack, no public URL needed)."""
    problem = slack_configured(settings, socket_mode=True)
    if problem or settings.slack.app_token is None:
        raise configuration_error(problem or "LOTSE_SLACK__APP_TOKEN fehlt.")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    bolt = build_bolt_app(settings, service or Service(settings))
    return SocketModeHandler(bolt, settings.slack.app_token.get_secret_value(), trace_enabled=False)


def run_socket_mode(settings: Settings) -> None:
    """Serve Slack over Socket Mode until interrupted."""
    socket_mode_handler(settings).start()


