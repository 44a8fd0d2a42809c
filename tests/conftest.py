"""Shared fixtures: test corpora built in tmp_path, settings, real and fake embedders."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# one converted e5-torch model for every test (and every subprocess a test starts)
os.environ.setdefault("LOTSE_PATHS__MODELS_DIR", str(Path(__file__).resolve().parents[1] / "data" / "models"))

sys.path.insert(0, str(Path(__file__).parent))

from pg_fixtures import db_url, postgres  # noqa: F401
from tests_support import ChromaServer, free_port, make_docx, make_pdf  # noqa: F401

from assistant.settings import Settings

GUIDE = """---
title: Leitfaden Datenschutz
type: leitfaden
date: 2026-11-01
tags: [datenschutz, dsfa]
visibility: public
---
# Leitfaden Datenschutz

## 1 Einführung

Dieser Leitfaden erklärt den Datenschutz im Digitalen Zwilling. Personenbezogene Daten entstehen
etwa bei Sensoren im Straßenraum.

## 3 Datenschutz-Folgenabschätzung

### 3.2 DSFA durchführen

Eine Datenschutz-Folgenabschätzung nach Art. 35 DSGVO ist nötig, wenn ein hohes Risiko besteht.
Beteiligen Sie früh den behördlichen Datenschutzbeauftragten.
"""

CHECKLIST = """---
title: Checkliste Start
tags: [start]
---
# Checkliste Start

## 1 Vorbereitung

- [ ] **Ziel klären** – Welches Problem soll der Zwilling lösen?
- [ ] **Daten sichten** – Welche Geodaten liegen schon vor, etwa das LoD2-Gebäudemodell?
- [ ] **Rat informieren** – Eine Beschlussvorlage früh vorbereiten.
"""

INTERNAL = """---
title: Interne Planungsrunde
type: sitzung
visibility: internal
---
# Interne Planungsrunde

## 1 Organisation

Die Moderation wechselt zwischen den Kommunen; die Ablage liegt im gemeinsamen Ordner.
"""

PDF_SECTIONS = [
    ("1 Betrieb", "Der Regelbetrieb braucht ein Betriebsteam und klare Zuständigkeiten für die Aktualisierung."),
    ("2 Aktualisierung", "Das LoD2-Gebäudemodell wird jährlich aktualisiert; planen Sie den Import ein."),
]
DOCX_SECTIONS = [
    ("1 Beschlussvorschlag", "Der Rat beschließt den Aufbau eines kommunalen Digitalen Zwillings."),
    ("2 Finanzielle Auswirkungen", "Die Kosten werden im Haushalt unter dem Produkt Geodaten veranschlagt."),
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A small corpus with Markdown, a real PDF and a real DOCX."""
    root = tmp_path / "corpus"
    (root / "leitfaeden").mkdir(parents=True)
    (root / "checklisten").mkdir()
    (root / "sitzungen").mkdir()
    (root / "vorlagen").mkdir()
    (root / "leitfaeden" / "leitfaden-datenschutz.md").write_text(GUIDE, encoding="utf-8")
    (root / "checklisten" / "checkliste-start.md").write_text(CHECKLIST, encoding="utf-8")
    (root / "sitzungen" / "planungsrunde-intern.md").write_text(INTERNAL, encoding="utf-8")
    make_pdf(root / "leitfaeden" / "leitfaden-betrieb.pdf", "Leitfaden Betrieb", PDF_SECTIONS)
    make_docx(root / "vorlagen" / "vorlage-beschluss.docx", "Vorlage Beschluss", DOCX_SECTIONS)
    return root


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(
        _env_file=None,
        paths={"corpus_dir": corpus, "data_dir": tmp_path / "data"},
    )


@pytest.fixture
def chroma(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = ChromaServer(tmp_path / "chroma-server", tmp_path / "chroma.log").start()
    yield server
    server.stop()


@pytest.fixture
def chroma_server(chroma: ChromaServer) -> tuple[str, int]:
    """(host, port) of a running `chroma run` server."""
    return "127.0.0.1", chroma.port


@pytest.fixture
def fake_index(settings: Settings):  # type: ignore[no-untyped-def]
    """The small test corpus ingested with the deterministic fake embedder into real Chroma."""
    from fakes import FakeEmbedder

    from ingest.index import open_index
    from ingest.pipeline import run_ingest

    index = open_index(settings, FakeEmbedder())
    report = run_ingest(index, settings)
    assert report.ok
    return index


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def corpus_settings() -> Settings:
    """Settings for the bundled corpus, indexed with the default embedder (e5-torch).

    The index lives in data/test-index and is brought up to date by the normal incremental
    ingest, so only the first run (and CI's clean clone) pays for embedding.
    """
    return Settings(_env_file=None, paths={"corpus_dir": REPO / "corpus", "data_dir": REPO / "data" / "test-index"})


CORPUS_LOCK = REPO / "data" / "test-index.lock"
_warmup: threading.Thread | None = None


def _ingest_corpus(settings: Settings) -> Any:
    """Bring data/test-index up to date, one process at a time (xdist workers and the warm-up)."""
    from filelock import FileLock

    from ingest.index import open_index
    from ingest.pipeline import run_ingest

    CORPUS_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CORPUS_LOCK)):
        index = open_index(settings)
        report = run_ingest(index, settings)
    assert report.ok, report.failed
    return index


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist (`make test`), the controller ingests the bundled corpus in the background
    while the workers run the tests that do not need it; those that do wait for the lock."""
    global _warmup
    if hasattr(session.config, "workerinput") or not session.config.getoption("numprocesses", None):
        return
    settings = Settings(_env_file=None, paths={"corpus_dir": REPO / "corpus", "data_dir": REPO / "data" / "test-index"})
    _warmup = threading.Thread(target=_ingest_corpus, args=(settings,), name="corpus-warm-up", daemon=True)
    _warmup.start()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on the bundled corpus run last: meanwhile the warm-up ingests it, and the workers
    spend that time on everything else instead of waiting for the lock."""
    needs = {"corpus_index", "corpus_engine", "lotse_server"}
    items.sort(key=lambda item: bool(needs & set(getattr(item, "fixturenames", ()))))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _warmup is not None:
        _warmup.join()


@pytest.fixture(scope="session")
def corpus_index(corpus_settings: Settings):  # type: ignore[no-untyped-def]
    return _ingest_corpus(corpus_settings)


@pytest.fixture(scope="session")
def corpus_engine(corpus_settings: Settings, corpus_index):  # type: ignore[no-untyped-def]
    from assistant.answer import AnswerEngine

    return AnswerEngine(corpus_settings, corpus_index)


@pytest.fixture
def mock_openai():  # type: ignore[no-untyped-def]
    from mock_openai import MockOpenAI

    server = MockOpenAI().start()
    yield server
    server.stop()
