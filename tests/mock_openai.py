"""A tiny OpenAI-compatible chat server on localhost with queued replies (for generator tests)."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests_support import LocalServer, send_json


@dataclass
class Reply:
    text: str = ""
    delay: float = 0.0  # seconds to wait before answering (longer than the client timeout = timeout)
    status: int = 200


@dataclass
class MockOpenAI(LocalServer):
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def queue(self, *replies: Reply | str) -> None:
        for reply in replies:
            self.replies.append(reply if isinstance(reply, Reply) else Reply(reply))

    def start(self) -> MockOpenAI:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _answer(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                mock.requests.append(body)
                reply = mock.replies.popleft() if mock.replies else Reply("KEINE_ANTWORT")
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    send_json(self, {"error": {"message": "boom"}}, reply.status)
                    return
                base = {"id": "cmpl-1", "created": 0, "model": body.get("model", "m")}
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for word in reply.text.split(" "):
                        delta = {"role": "assistant", "content": word + " "}
                        chunk = dict(base, object="chat.completion.chunk", choices=[{"index": 0, "delta": delta, "finish_reason": None}])
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    done = dict(base, object="chat.completion.chunk", choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
                    self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                    return
                message = {"role": "assistant", "content": reply.text}
                payload = dict(base, object="chat.completion", choices=[{"index": 0, "message": message, "finish_reason": "stop"}],
                               usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
                send_json(self, payload)

        self.serve(Handler)
        return self
