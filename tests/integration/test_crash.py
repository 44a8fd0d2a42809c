"""Kill an ingest mid-way: the old index still answers, the next run completes the job.

The kill lands at a point the test controls, not after a guessed delay: with
LOTSE_TEST_PAUSE_AFTER_FIRST_WRITE=<file> the pipeline creates that file right after the first
document's chunks were written to the store and then blocks until it is killed. The commands are
the real `lotse` CLI with the fake embedder (tests/lotse_fake_embedder.py): this is about the
pipeline's write order, not about embeddings, and no process has to load PyTorch.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from assistant.settings import Settings
from ingest.index import open_index
from ingest.keyword import BM25Index, keyword_identity
from ingest.pipeline import PAUSE_AFTER_FIRST_WRITE, run_ingest

LOTSE = [sys.executable, str(Path(__file__).resolve().parents[1] / "lotse_fake_embedder.py")]
NEW_DOCS = {
    "leitfaden-sensorik": "# Leitfaden Sensorik\n\n## 1 Lärmsensoren\n\nLärmsensoren an Hauptstraßen liefern alle fünf Minuten "
                          "einen Mittelungspegel.\n\n## 2 Wartung\n\nDie Sensoren werden halbjährlich kalibriert.\n",
    "leitfaden-verkehr": "# Leitfaden Verkehr\n\n## 1 Zählstellen\n\nInduktionsschleifen zählen Fahrzeuge an Knotenpunkten.\n\n"
                         "## 2 Auswertung\n\nDie Verkehrsstärken werden stündlich aggregiert und veröffentlicht.\n",
}


def _state(settings: Settings) -> tuple[dict[str, list[str]], int, str | None]:
    """What the store holds (doc id -> chunk ids) and which keyword index is current (size, stamp)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # read what the subprocesses wrote, not a cached view
    index = open_index(settings, FakeEmbedder())
    docs: dict[str, list[str]] = {}
    for stored in index.store.iter_all():
        docs.setdefault(stored.doc_id, []).append(stored.chunk_id)
    current = index.keyword_dir / "CURRENT"
    return docs, BM25Index.saved_size(index.keyword_dir, keyword_identity(settings.keyword)) or 0, \
        current.read_text(encoding="utf-8").strip() if current.exists() else None


def _embedded(stdout: str) -> int:
    match = re.search(r"(\d+) Abschnitte eingebettet", " ".join(stdout.split()))
    assert match, stdout
    return int(match.group(1))


def test_killed_ingest_leaves_a_queryable_index(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None, paths={"corpus_dir": corpus, "data_dir": tmp_path / "data"})
    env = dict(os.environ, LOTSE_PATHS__CORPUS_DIR=str(corpus), LOTSE_PATHS__DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    env.pop(PAUSE_AFTER_FIRST_WRITE, None)
    monkeypatch.chdir(tmp_path)  # sources are recorded relative to the working directory, as in the subprocesses
    assert run_ingest(open_index(settings, FakeEmbedder()), settings).ok
    before, before_keyword, before_stamp = _state(settings)
    assert before_stamp and before_keyword == sum(map(len, before.values()))

    for doc_id, text in NEW_DOCS.items():
        (corpus / "leitfaeden" / f"{doc_id}.md").write_text(text, encoding="utf-8")
    marker = tmp_path / "paused-after-first-write"
    # one document per write group, so the pause lands after the first new document
    proc = subprocess.Popen([*LOTSE, "ingest"], env=dict(env, LOTSE_EMBEDDER__GROUP_CHUNKS="1", **{PAUSE_AFTER_FIRST_WRITE: str(marker)}),
                            cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"ingest ended (rc {proc.returncode}) without reaching the first write: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "ingest did not reach the first write within 120 s"
            time.sleep(0.05)
        assert proc.poll() is None, "the ingest must still be running (blocked in the hook) when it is killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # (b) the kill landed mid-ingest: exactly one new document is stored (complete), the other is
    # missing, and the keyword index was not switched
    middle, middle_keyword, middle_stamp = _state(settings)
    written = set(middle) - set(before)
    assert len(written) == 1 and written < set(NEW_DOCS), sorted(middle)
    assert {d: sorted(ids) for d, ids in middle.items() if d in before} == {d: sorted(ids) for d, ids in before.items()}
    assert middle_stamp == before_stamp and middle_keyword == before_keyword, "keyword index switched before the run finished"
    middle_count = sum(map(len, middle.values()))
    assert middle_count > before_keyword

    # (a) the old index still answers with the previous content
    search = subprocess.run(
        [*LOTSE, "search", "Wann ist eine Datenschutz-Folgenabschätzung nötig?", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )
    assert search.returncode == 0, search.stderr
    fused = json.loads(search.stdout)["fused"]
    assert fused and fused[0]["doc_id"] == "leitfaden-datenschutz", fused

    # (c) the next plain run embeds only what is missing and leaves a consistent index
    resumed = subprocess.run([*LOTSE, "ingest"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    after, after_keyword, after_stamp = _state(settings)
    (missing,) = set(NEW_DOCS) - written
    assert set(after) == set(before) | set(NEW_DOCS)
    assert _embedded(resumed.stdout) == len(after[missing]), "the resumed run re-embedded what was already stored"
    assert sum(map(len, after.values())) not in (before_keyword, middle_count), "the count must differ from the killed state"

    index = open_index(settings, FakeEmbedder())
    stored = list(index.store.iter_all())
    ids = [s.chunk_id for s in stored]
    assert len(ids) == len(set(ids)), "no chunk stored twice"
    per_hash: Counter[str] = Counter(s.content_hash for s in stored)
    assert per_hash == Counter({s.content_hash: s.n_chunks for s in stored}), "every document complete, none duplicated"
    assert len(per_hash) == len(after) == 7, "one content hash per document"
    for s in stored:
        assert all((tmp_path / source).is_file() for source in s.sources), s.sources
    assert after_stamp != before_stamp and after_keyword == len(ids)
    assert len(index.keyword()) == len(ids)

    again = run_ingest(index, settings)
    assert again.ok and again.chunks_embedded == 0 and not (again.new or again.changed or again.deleted), again
