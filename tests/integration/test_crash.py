"""Kill an ingest mid-way: the old index still answers, the next run completes the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from assistant.settings import Settings
from ingest.index import open_index

LOTSE = [sys.executable, "-m", "lotse.cli"]


def _section(i: int, j: int) -> str:
    words = " ".join(f"Kennzahl{i}x{j} Betrieb Aktualisierung Geodaten Datenqualität Zuständigkeit" for _ in range(20))
    return f"## {j} Abschnitt {j}\n\n{words}.\n"


def test_killed_ingest_leaves_a_queryable_index(corpus: Path, tmp_path: Path) -> None:
    env = dict(os.environ, LOTSE_PATHS__CORPUS_DIR=str(corpus), LOTSE_PATHS__DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    subprocess.run([*LOTSE, "ingest"], env=env, check=True, capture_output=True, cwd=tmp_path)

    extra = corpus / "leitfaeden" / "viele"
    extra.mkdir()
    for i in range(20):
        (extra / f"zusatz-{i:02d}.md").write_text(f"# Zusatz {i}\n\n" + "".join(_section(i, j) for j in range(1, 9)), encoding="utf-8")
    proc = subprocess.Popen([*LOTSE, "ingest"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(8)
    assert proc.poll() is None, "ingest finished before it could be killed; make the corpus larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    search = subprocess.run(
        [*LOTSE, "search", "Wann ist eine Datenschutz-Folgenabschätzung nötig?", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    fused = json.loads(search.stdout)["fused"]
    assert fused[0]["doc_id"] == "leitfaden-datenschutz"

    resumed = subprocess.run([*LOTSE, "ingest"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    index = open_index(Settings(_env_file=None, paths={"corpus_dir": corpus, "data_dir": tmp_path / "data"}))
    ids = [s.chunk_id for s in index.store.iter_all()]
    assert len(ids) == len(set(ids))
    per_hash: Counter[str] = Counter()
    expected: dict[str, int] = {}
    for stored in index.store.iter_all():
        per_hash[stored.content_hash] += 1
        expected[stored.content_hash] = stored.n_chunks
    assert per_hash == Counter(expected), "every document complete, none duplicated"
    assert len({s.doc_id for s in index.store.iter_all()}) == 25
    assert len(index.keyword()) == len(ids)
    again = subprocess.run([*LOTSE, "ingest"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert "0 Abschnitte eingebettet" in again.stdout.replace("\n", " ")
