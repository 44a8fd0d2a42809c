"""Fixtures for the widget's browser tests: a real `lotse serve` and headless Debian Chromium."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests_support import free_port, wait_ready

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LOTSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]




def _chromium() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium") or ""
    if not path:
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return _chromium()


@dataclass
class EmbedSite:
    """A second local web server (another origin, allowed by the test server's CORS) for host pages."""

    origin: str
    root: Path

    def page(self, name: str, html: str) -> str:
        (self.root / name).write_text(html, encoding="utf-8")
        return f"{self.origin}/{name}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def embed_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbedSite]:
    # A real server, not page.route: Chromium treats routed pages as public and then blocks
    # their requests to 127.0.0.1 (Private Network Access).
    root = tmp_path_factory.mktemp("embed-site")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield EmbedSite(f"http://127.0.0.1:{server.server_address[1]}", root)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def lotse_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chromium_path: str,
                 embed_site: EmbedSite) -> Iterator[str]:
    """Base URL of a real `lotse serve` (bundled corpus, index in data/test-index)."""

    request.getfixturevalue("corpus_index")  # ingest the corpus into data/test-index first
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tmp_path_factory.mktemp("lotse-serve")
    env = os.environ | {
        "LOTSE_PATHS__CORPUS_DIR": str(REPO / "corpus"),
        "LOTSE_PATHS__DATA_DIR": str(REPO / "data" / "test-index"),
        "LOTSE_ANSWER__PUBLIC_URL": base,
        "LOTSE_DB__URL": f"sqlite:///{tmp / 'lotse.db'}",
        "LOTSE_WEB__CORS_ORIGINS": f'["{base}", "{embed_site.origin}"]',
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LOTSE_GENERATOR__BACKEND": "extractive",  # deterministic answers, whatever .env says
    }
    log_path = tmp / "serve.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lotse.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        if not wait_ready(f"{base}/readyz", lambda: proc.poll() is None, 120):
            raise RuntimeError("lotse serve did not become ready:\n" + log_path.read_text(errors="replace")[-4000:])
        print(f"\nlotse serve on {base}, log: {log_path}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="de-DE")
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def serve_app() -> Iterator[Callable[[Callable[[str], Any]], str]]:
    """Serve an app built in this process (uvicorn in a thread), for tests that reach into the
    service: scripted generators, an answer held back until the test releases it.

    `serve_app(build)` picks a free port, calls `build(base_url)` for the ASGI app (so the app can
    put the base URL into its citation links) and returns the base URL once uvicorn has started.
    """
    import uvicorn

    servers: list[tuple[Any, threading.Thread]] = []

    def start(build: Callable[[str], Any]) -> str:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = uvicorn.Server(uvicorn.Config(build(base), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {base}")
            time.sleep(0.05)
        return base

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=15)
