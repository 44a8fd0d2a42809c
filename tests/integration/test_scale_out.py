"""Two `lotse serve` processes on one Chroma server: consistent answers while a third process re-ingests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fakes import FakeEmbedder
from sqlalchemy import create_engine, select
from tests_support import ChromaServer, free_port

from assistant.feedback import questions
from assistant.settings import Settings
from ingest.index import open_index
from ingest.pipeline import run_ingest

STABLE = "Wann ist eine Datenschutz-Folgenabschätzung nötig?"
FOLLOW_UP = "Und wer berät dabei?"  # makes sense only after STABLE (its answer is in the same section)
NEW_DOC = "# Leitfaden Sensorik\n\n## 1 Lärmsensoren\n\nLärmsensoren an Hauptstraßen liefern alle fünf Minuten einen Mittelungspegel.\n"


# the real CLI with the fake embedder: this test is about shared state, not embeddings, and the
# three processes start in seconds instead of each loading PyTorch
LOTSE = [sys.executable, str(Path(__file__).resolve().parents[1] / "lotse_fake_embedder.py")]


def _serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*LOTSE, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    """Poll /readyz until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{url}: lotse serve exited with {proc.returncode}"
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
    assert run_ingest(open_index(settings, FakeEmbedder()), settings).ok
    env = dict(os.environ, HF_HUB_OFFLINE="1", LOTSE_CHROMA__HOST="127.0.0.1", LOTSE_CHROMA__PORT=str(chroma.port),
               LOTSE_PATHS__CORPUS_DIR=str(corpus), LOTSE_DB__URL=f"sqlite:///{tmp_path}/shared.db",
               LOTSE_WEB__RATE_LIMIT_PER_MINUTE="10000", LOTSE_REFUSAL__THRESHOLD="0",
               LOTSE_REFUSAL__MIN_BEST_SENTENCE="0", LOTSE_REFUSAL__MIN_BEST_SENTENCE_EN="0",
               # about shared conversations, not follow-up detection: a question with history continues it
               LOTSE_CONVERSATION__WEIGHTS="{}", LOTSE_CONVERSATION__BIAS="5")
    ports = [free_port(), free_port()]
    workers = [_serve(p, dict(env, LOTSE_PATHS__DATA_DIR=str(tmp_path / f"worker{i}")), tmp_path / f"worker{i}.log")
               for i, p in enumerate(ports)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url, worker in zip(urls, workers, strict=True):
            _wait_ready(url, worker)
        with httpx.Client(timeout=60) as client:
            baseline = [_cited(client.post(url + "/api/chat", json={"question": STABLE})) for url in urls]
            assert baseline[0] == baseline[1] and baseline[0]

            # a follow-up may land on the other worker: the conversation lives in the shared database,
            # and worker 1 searches with worker 0's first question (the query is logged per answer)
            first = client.post(urls[0] + "/api/chat", json={"question": STABLE}).json()
            follow = client.post(urls[1] + "/api/chat", json={"question": FOLLOW_UP, "conversation_id": first["conversation_id"]})
            assert follow.status_code == 200 and follow.json()["conversation_id"] == first["conversation_id"]
            alone = client.post(urls[1] + "/api/chat", json={"question": FOLLOW_UP}).json()  # the same words, no history
            with create_engine(env["LOTSE_DB__URL"]).connect() as db:
                logged = {row.answer_id: row for row in db.execute(select(questions))}
            assert logged[first["answer_id"]].conversation_id == first["conversation_id"]
            continued = logged[follow.json()["answer_id"]]
            assert continued.conversation_id == first["conversation_id"] and continued.question == FOLLOW_UP
            assert STABLE in continued.query and FOLLOW_UP in continued.query, continued.query
            assert STABLE not in logged[alone["answer_id"]].query, "without the conversation the history must not leak in"
            assert "leitfaden-datenschutz" in {doc for doc, _ in _cited(follow)}, "the follow-up is answered from the first topic"

            (corpus / "leitfaeden" / "leitfaden-sensorik.md").write_text(NEW_DOC, encoding="utf-8")
            guide = corpus / "leitfaeden" / "leitfaden-datenschutz.md"
            guide.write_text(
                guide.read_text(encoding="utf-8") + "\n## 4 Ergänzung\n\nDie DSFA wird jährlich überprüft.\n", encoding="utf-8"
            )
            ingest = subprocess.Popen([*LOTSE, "ingest"],
                                      env=dict(env, LOTSE_PATHS__DATA_DIR=str(tmp_path / "ingest")),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            answered = 0
            deadline = time.monotonic() + 60
            while (ingest.poll() is None or answered < 10) and time.monotonic() < deadline:
                for url in urls:
                    assert _cited(client.post(url + "/api/chat", json={"question": STABLE})), "every answer cites"
                    answered += 1
            assert ingest.wait(timeout=60) == 0, ingest.stdout.read() if ingest.stdout else ""
            # workers look for a changed index at most every recheck_seconds (5 s): ask until each
            # has picked up the new document, with a deadline instead of a guessed sleep
            new_section = ("leitfaden-sensorik", "Leitfaden Sensorik › 1 Lärmsensoren")
            for url in urls:
                deadline = time.monotonic() + 30
                question = {"question": "Wie oft liefern Lärmsensoren einen Mittelungspegel?"}
                while new_section not in _cited(client.post(url + "/api/chat", json=question)):
                    assert time.monotonic() < deadline, f"{url} never answered from the re-ingested index"
                    time.sleep(0.5)
            after = [_cited(client.post(url + "/api/chat", json={"question": STABLE})) for url in urls]
            assert after[0] == after[1]
            print(f"{answered} answers from two workers during the re-ingest, all with citations")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
