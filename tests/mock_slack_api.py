"""A mock Slack Web API on localhost that records every call (as bolt-python's own tests do)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests_support import LocalServer, send_json

BOT_USER = "UBOT"


@dataclass
class MockSlackAPI(LocalServer):
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    socket_url: str = ""
    _ts: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.url}response/{name}"

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for name, body in self.calls if name == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(method)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{method} called {len(self.of(method))} times, expected {count}: {[c[0] for c in self.calls]}")

    def _next_ts(self) -> str:
        with self._lock:
            self._ts += 1
            return f"{self._ts}.000100"

    def start(self) -> MockSlackAPI:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "view"):
                        if isinstance(body.get(key), str):
                            body[key] = json.loads(body[key])
                method = self.path.removeprefix("/api/") if self.path.startswith("/api/") else self.path.strip("/")
                with mock._lock:
                    mock.calls.append((method, body))
                result: dict[str, Any] = {"ok": True}
                if method == "auth.test":
                    result.update(user_id=BOT_USER, bot_id="BBOT", team_id="T1", team="Test", user="lotse", url="https://test.slack.com/")
                elif method in ("chat.postMessage", "chat.update"):
                    result.update(channel=body.get("channel"), ts=body.get("ts") or mock._next_ts(), message={"text": body.get("text")})
                elif method == "apps.connections.open":
                    result.update(url=mock.socket_url)
                send_json(self, result)

        self.serve(Handler)
        return self
