"""Builders for real PDF and DOCX test files."""

from __future__ import annotations

import sys
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


class ChromaServer:
    """A real `chroma run` on localhost that tests can stop and start again (same port, same data)."""

    def __init__(self, path: Path, log: Path) -> None:
        import shutil

        self.binary = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
        assert self.binary, "the chroma command comes with the chromadb package"
        self.path, self.log, self.port = path, log, free_port()
        self.proc: Any = None

    def start(self, timeout: float = 30) -> "ChromaServer":
        import subprocess
        import time

        import httpx

        self.proc = subprocess.Popen(
            [self.binary, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("chroma run did not start: " + self.log.read_text(errors="replace"))
            time.sleep(0.2)

    def stop(self) -> None:
        import subprocess

        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


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
