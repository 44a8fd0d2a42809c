"""ASGI entry point for uvicorn workers: `uvicorn lotse.asgi:app` (web, widget and Slack's route)."""

from __future__ import annotations

from fastapi import FastAPI

from assistant.service import Service
from assistant.settings import Settings, load_settings
from assistant.slack.app import mount
from assistant.web.app import create_app


def build_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """The web app with /slack/events when Slack is configured, over one shared Service."""
    service = service or Service(settings)
    app = create_app(settings, service)
    app.state.slack = mount(app, settings, service)
    return app


def __getattr__(name: str) -> FastAPI:
    # `app` is built on first access, so importing this module (tests, tools) reads no settings
    if name == "app":
        built = build_app(load_settings())
        globals()["app"] = built
        return built
    raise AttributeError(name)
