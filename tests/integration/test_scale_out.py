"""Two `lotse serve` processes on one Chroma server: consistent answers while a third process re-ingests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.settings import Settings
from tests_support import ChromaServer, free_port
from ingest.index import open_index
from ingest.pipeline import run_ingest

STABLE = "Wann ist eine Datenschutz-Folgenabschätzung nötig?"
NEW_DOC = "# Leitfaden Sensorik\n\n## 1 Lärmsensoren\n\nLärmsensoren an Hauptstraßen liefern alle fünf Minuten einen Mittelungspegel.\n"


def _serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "lotse.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready")


def _cited(response: httpx.Response) -> set[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return {(c["doc_id"], c["section"]) for c in response.json()["citations"]}


@pytest.mark.server
def test_two_workers_share_one_chroma_while_reingesting(settings: Settings, chroma: ChromaServer, corpus: Path, tmp_path: Path) -> None:
    settings.chroma.host, settings.chroma.port = "127.0.0.1", chroma.port
    assert run_ingest(open_index(settings), settings).ok
    env = dict(os.environ, HF_HUB_OFFLINE="1", LOTSE_CHROMA__HOST="127.0.0.1", LOTSE_CHROMA__PORT=str(chroma.port),
               LOTSE_PATHS__CORPUS_DIR=str(corpus), LOTSE_DB__URL=f"sqlite:///{tmp_path}/shared.db",
               LOTSE_WEB__RATE_LIMIT_PER_MINUTE="10000", LOTSE_REFUSAL__MIN_EVIDENCE="0", LOTSE_REFUSAL__MAX_UNCOVERED="1")
    ports = [free_port(), free_port()]
    workers = [_serve(p, dict(env, LOTSE_PATHS__DATA_DIR=str(tmp_path / f"worker{i}")), tmp_path / f"worker{i}.log")
               for i, p in enumerate(ports)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url in urls:
            _wait_ready(url)
        with httpx.Client(timeout=60) as client:
            baseline = [_cited(client.post(url + "/api/chat", json={"question": STABLE})) for url in urls]
            assert baseline[0] == baseline[1] and baseline[0]

            # a follow-up may land on the other worker: the conversation lives in the shared database
            first = client.post(urls[0] + "/api/chat", json={"question": STABLE}).json()
            follow = client.post(urls[1] + "/api/chat", json={"question": "Und wer berät dabei?", "conversation_id": first["conversation_id"]})
            assert follow.status_code == 200 and follow.json()["conversation_id"] == first["conversation_id"]

            (corpus / "leitfaeden" / "leitfaden-sensorik.md").write_text(NEW_DOC, encoding="utf-8")
            guide = corpus / "leitfaeden" / "leitfaden-datenschutz.md"
            guide.write_text(guide.read_text(encoding="utf-8") + "\n## 4 Ergänzung\n\nDie DSFA wird jährlich überprüft.\n", encoding="utf-8")
            ingest = subprocess.Popen([sys.executable, "-m", "lotse.cli", "ingest"], env=dict(env, LOTSE_PATHS__DATA_DIR=str(tmp_path / "ingest")),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            answered = 0
            deadline = time.monotonic() + 60
            while (ingest.poll() is None or answered < 10) and time.monotonic() < deadline:
                for url in urls:
                    assert _cited(client.post(url + "/api/chat", json={"question": STABLE})), "every answer cites"
                    answered += 1
            assert ingest.wait(timeout=60) == 0, ingest.stdout.read() if ingest.stdout else ""
            time.sleep(6)  # workers look for a changed index at most every 5 s
            fresh = [client.post(url + "/api/chat", json={"question": "Wie oft liefern Lärmsensoren einen Mittelungspegel?"}) for url in urls]
            assert all(("leitfaden-sensorik", "Leitfaden Sensorik › 1 Lärmsensoren") in _cited(r) for r in fresh)
            after = [_cited(client.post(url + "/api/chat", json={"question": STABLE})) for url in urls]
            assert after[0] == after[1]
            print(f"{answered} answers from two workers during the re-ingest, all with citations")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
