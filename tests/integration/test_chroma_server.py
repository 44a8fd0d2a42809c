"""Server mode: ingest into and search a real `chroma run` on localhost."""

from __future__ import annotations

from pathlib import Path

from assistant.retrieval import Retriever
from assistant.settings import Settings
from ingest.index import open_index
from ingest.pipeline import run_ingest


def test_ingest_and_search_on_a_chroma_server(chroma_server: tuple[str, int], corpus: Path, tmp_path: Path) -> None:
    host, port = chroma_server
    settings = Settings(
        _env_file=None,
        paths={"corpus_dir": corpus, "data_dir": tmp_path / "data"},
        chroma={"host": host, "port": port},
    )
    index = open_index(settings)
    report = run_ingest(index, settings)
    assert report.ok and report.chunks_total > 0
    assert not (tmp_path / "data" / "chroma").exists(), "server mode must not create an embedded store"
    assert run_ingest(open_index(settings), settings).chunks_embedded == 0

    # a second process-like client sees the same collection; the keyword index is rebuilt from Chroma
    other = Settings(_env_file=None, paths={"corpus_dir": corpus, "data_dir": tmp_path / "other"}, chroma={"host": host, "port": port})
    hits = Retriever(open_index(other)).retrieve("Wie oft wird das LoD2-Gebäudemodell aktualisiert?", k=3).fused
    assert hits[0].chunk.doc_id == "leitfaden-betrieb"
    assert (tmp_path / "other" / "keyword").exists()
