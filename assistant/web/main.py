"""ASGI entry point for uvicorn workers: `uvicorn assistant.web.main:app`."""

from assistant.settings import load_settings
from assistant.web.app import create_app

app = create_app(load_settings())
