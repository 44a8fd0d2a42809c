"""Server mode: ingest into and search a real `chroma run` on localhost, with and without a token."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeEmbedder
from pydantic import SecretStr
from tests_support import ChromaServer

from assistant.retrieval import Retriever
from assistant.settings import Settings
from ingest.errors import IngestCode, LotseError
from ingest.index import open_index
from ingest.pipeline import run_ingest

TOKEN = "chr-Geheim.4711"
WRONG = "chr-falsch.0815"
QUESTION = "Wie oft wird das LoD2-Gebäudemodell aktualisiert?"


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
    other = Settings(_env_file=None, paths={"corpus_dir": corpus, "data_dir": tmp_path / "other"},
                     chroma={"host": host, "port": port})
    hits = Retriever(open_index(other)).retrieve(QUESTION, k=3).fused
    assert hits[0].chunk.doc_id == "leitfaden-betrieb"
    assert (tmp_path / "other" / "keyword").exists()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[ChromaServer]:
    """`chroma run` behind a proxy that wants TOKEN (chroma run 1.x checks no token itself)."""
    server = ChromaServer(tmp_path / "guarded", tmp_path / "guarded.log", token=TOKEN).start()
    yield server
    server.stop()


def _settings(corpus: Path, data: Path, port: int, token: str | None) -> Settings:
    return Settings(_env_file=None, paths={"corpus_dir": corpus, "data_dir": data},
                    chroma={"host": "127.0.0.1", "port": port, "token": SecretStr(token) if token is not None else None})


@pytest.mark.server
def test_the_right_token_ingests_and_searches(guarded: ChromaServer, corpus: Path, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(corpus, tmp_path / "data", guarded.port, TOKEN)
    with caplog.at_level(logging.DEBUG):
        report = run_ingest(open_index(settings, FakeEmbedder()), settings)
        assert report.ok and report.chunks_total > 0
        other = _settings(corpus, tmp_path / "other", guarded.port, TOKEN)
        retrieval = Retriever(open_index(other, FakeEmbedder())).retrieve(QUESTION, k=3)
    assert retrieval.dense and "leitfaden-betrieb" in {h.chunk.doc_id for h in retrieval.fused}
    assert guarded.proxy and guarded.proxy.passed > 10, "every request carried the token"
    assert guarded.proxy.rejected == 2, "only the tokenless probe of each start (does the server check tokens at all?)"
    assert "prüft kein Token" not in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.server
def test_a_wrong_or_missing_token_stops_the_start_with_a_clear_error(guarded: ChromaServer, corpus: Path, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    where = f"127.0.0.1:{guarded.port}"
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(LotseError) as wrong:
            open_index(_settings(corpus, tmp_path / "data", guarded.port, WRONG), FakeEmbedder())
        with pytest.raises(LotseError) as missing:
            open_index(_settings(corpus, tmp_path / "data", guarded.port, None), FakeEmbedder())
    assert wrong.value.code == IngestCode.CONFIGURATION
    assert wrong.value.message == (f"Der Chroma-Server {where} hat das Token abgelehnt (HTTP 401). "
                                   "Bitte LOTSE_CHROMA__TOKEN prüfen.")
    assert "rejected the token" in wrong.value.text("en")
    assert missing.value.message == f"Der Chroma-Server {where} verlangt ein Token (HTTP 401). Bitte LOTSE_CHROMA__TOKEN setzen."
    for text in (wrong.value.message, wrong.value.message_en, repr(wrong.value), caplog.text):
        assert WRONG not in text and TOKEN not in text
    assert guarded.proxy and guarded.proxy.passed == 0, "nothing reached Chroma"


@pytest.mark.server
def test_the_cli_names_the_rejected_token_but_never_shows_it(guarded: ChromaServer, corpus: Path, tmp_path: Path) -> None:
    env = dict(os.environ, LOTSE_CHROMA__HOST="127.0.0.1", LOTSE_CHROMA__PORT=str(guarded.port), LOTSE_CHROMA__TOKEN=WRONG,
               LOTSE_PATHS__CORPUS_DIR=str(corpus), LOTSE_PATHS__DATA_DIR=str(tmp_path / "data"), COLUMNS="200")
    ingest = subprocess.run([sys.executable, "-m", "lotse.cli", "ingest"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    shown = " ".join((ingest.stdout + ingest.stderr).split())
    assert ingest.returncode == 2, shown
    assert f"Fehler: Der Chroma-Server 127.0.0.1:{guarded.port} hat das Token abgelehnt" in shown
    assert "Traceback" not in shown and WRONG not in shown

    config = subprocess.run([sys.executable, "-m", "lotse.cli", "config"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert config.returncode == 0 and "LOTSE_CHROMA__TOKEN" in config.stdout and "***" in config.stdout
    assert WRONG not in config.stdout + config.stderr


@pytest.mark.server
def test_a_token_the_server_does_not_check_is_warned_about(chroma: ChromaServer, corpus: Path, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Plain `chroma run` accepts any token (and none): Lotse works, but says the token protects nothing."""
    with caplog.at_level(logging.WARNING):
        index = open_index(_settings(corpus, tmp_path / "data", chroma.port, TOKEN), FakeEmbedder())
    assert index.store.count() == 0
    assert f"Der Chroma-Server 127.0.0.1:{chroma.port} prüft kein Token" in caplog.text and TOKEN not in caplog.text
