"""Builders for real PDF and DOCX test files."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def make_pdf(path: Path, title: str, sections: list[tuple[str, str]], password: str | None = None) -> None:
    """A real PDF: one section per page, a bookmark (outline entry) per section heading."""
    import pymupdf

    doc = pymupdf.open()
    toc = []
    for number, (heading, body) in enumerate(sections, start=1):
        page = doc.new_page()
        page.insert_text((72, 72), heading, fontsize=16)
        page.insert_textbox(pymupdf.Rect(72, 100, 520, 700), body, fontsize=11)
        toc.append([1, heading, number])
    doc.set_toc(toc)
    doc.set_metadata({"title": title})
    if password:
        doc.save(str(path), encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password)
    else:
        doc.save(str(path))


def make_docx(path: Path, title: str, sections: list[tuple[str, str]]) -> None:
    """A real DOCX with a Title paragraph and Heading 1 per section."""
    import docx

    document = docx.Document()
    document.add_paragraph(title, style="Title")
    for heading, body in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(body)
        document.add_paragraph("Erster Punkt der Liste", style="List Bullet")
    document.core_properties.title = title
    document.save(str(path))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, alive: Callable[[], bool], timeout: float, interval: float = 0.3, request_timeout: float = 2) -> bool:
    """Poll `url` until it answers 200 (True), or until `alive()` says the server is gone or
    `timeout` seconds have passed (False)."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=request_timeout).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if not alive() or time.monotonic() > deadline:
            return False
        time.sleep(interval)


class ChromaServer:
    """A real `chroma run` on localhost that tests can stop and start again (same port, same data).

    With a `token`, clients must send it: `chroma run` 1.x has no authentication of its own (it
    ignores CHROMA_SERVER_AUTHN_* and auth keys in its config file), so a token-checking reverse
    proxy, as Envoy or nginx would be in production, listens on `port` in front of it.
    """

    def __init__(self, path: Path, log: Path, token: str | None = None) -> None:
        import shutil

        self.binary = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
        assert self.binary, "the chroma command comes with the chromadb package"
        self.path, self.log, self.port, self.token = path, log, free_port(), token
        self.chroma_port = free_port() if token is not None else self.port
        self.proxy = TokenProxy(self.port, f"http://127.0.0.1:{self.chroma_port}", token, log) if token is not None else None
        self.proc: Any = None

    def start(self, timeout: float = 30) -> ChromaServer:
        import subprocess

        self.proc = subprocess.Popen(
            [self.binary, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.chroma_port)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )
        if not wait_ready(f"http://127.0.0.1:{self.chroma_port}/api/v2/heartbeat", lambda: self.proc.poll() is None, timeout, 0.2, 1):
            self.proc.kill()
            raise RuntimeError("chroma run did not start: " + self.log.read_text(errors="replace"))
        if self.proxy:
            self.proxy.start()
        return self

    def stop(self) -> None:
        import subprocess

        if self.proxy:
            self.proxy.stop()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class TokenProxy:
    """A reverse proxy that lets a request through only with `Authorization: Bearer <token>` or
    `X-Chroma-Token: <token>` (heartbeat and version stay open); anything else gets 401 in
    Chroma's error shape. Counts what it passed and rejected; logs request lines, never headers."""

    OPEN = ("/api/v2/heartbeat", "/api/v2/version")
    HOP = frozenset({"host", "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
                     "proxy-authorization", "te", "trailer", "upgrade"})

    def __init__(self, port: int, upstream: str, token: str, log: Path) -> None:
        self.port, self.upstream, self.token, self.log = port, upstream, token, log
        self.passed = self.rejected = 0
        self.server: Any = None
        self.client: Any = None

    def allows(self, headers: Any) -> bool:
        import hmac

        bearer = headers.get("Authorization", "")
        sent = bearer[7:] if bearer.startswith("Bearer ") else headers.get("X-Chroma-Token", "")
        return hmac.compare_digest(sent.encode(), self.token.encode())

    def start(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import httpx

        proxy = self
        self.client = httpx.Client(timeout=60)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.split("?")[0] not in proxy.OPEN and not proxy.allows(self.headers):
                    proxy.rejected += 1
                    send_json(self, {"error": "AuthorizationError", "message": "Unauthorized"}, 401)
                    return
                proxy.passed += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in proxy.HOP}
                reply = proxy.client.request(self.command, proxy.upstream + self.path, headers=headers, content=body)
                self.send_response(reply.status_code)
                for key, value in reply.headers.items():
                    if key.lower() not in proxy.HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

            def log_message(self, format: str, *args: Any) -> None:
                with proxy.log.open("a", encoding="utf-8") as out:
                    out.write("proxy: " + (format % args) + "\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.client:
            self.client.close()


class LocalServer:
    """A threaded HTTP server on a free 127.0.0.1 port for mock APIs (start/stop, JSON replies)."""

    server: Any = None

    def serve(self, handler: type) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def send_json(handler: Any, payload: Any, status: int = 200) -> None:
    """Write a JSON response from a BaseHTTPRequestHandler."""
    import json

    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
