"""The bundled question set is valid against the bundled corpus (loaded with the real loaders)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval.questions import Question, load_questions, validate
from ingest.loaders import load_file
from ingest.pipeline import scan
from ingest.types import Document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def docs() -> dict[str, Document]:
    loaded = [load_file(p) for p in scan([CORPUS])]
    return {d.doc_id: d for d in loaded}


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_questions()


def test_corpus_loads_completely(docs: dict[str, Document]) -> None:
    types = Counter(d.doc_type for d in docs.values())
    assert types["leitfaden"] >= 8 and types["checkliste"] >= 6 and types["vorlage"] >= 5
    assert types["sitzung"] >= 5 and types["verzeichnis"] >= 1
    suffixes = Counter(Path(d.source_path).suffix for d in docs.values())
    assert suffixes[".pdf"] >= 2 and suffixes[".docx"] >= 2
    assert any(d.visibility == "internal" for d in docs.values())


def test_question_set_is_valid(questions: list[Question], docs: dict[str, Document]) -> None:
    assert validate(questions, docs) == []


def test_question_set_covers_what_it_must(questions: list[Question]) -> None:
    langs = Counter(q.lang for q in questions)
    kinds = Counter(q.kind for q in questions)
    assert len(questions) >= 150
    assert langs["de"] >= 120 and langs["en"] >= 20
    assert kinds["unanswerable"] >= 20 and kinds["follow-up"] >= 10
    assert sum(q.paraphrase for q in questions) >= 30


def test_validator_catches_mistakes(docs: dict[str, Document]) -> None:
    bad = [
        Question(id="x-1", lang="de", kind="fact", question="Was ist falsch?",
                 expected=[{"doc": "leitfaden-datenschutz", "section": "Gibt es nicht"}], key_facts=["a", "b"]),
        Question(id="x-1", lang="de", kind="follow-up", question="Und dann?", follows="y-9",
                 expected=[{"doc": "fehlt", "section": "1"}], key_facts=["a", "b"]),
    ]
    problems = "\n".join(validate(bad, docs))
    for expected in ("fehlt in leitfaden-datenschutz", "doppelte id", "follows", "Dokument fehlt fehlt im Korpus"):
        assert expected in problems
