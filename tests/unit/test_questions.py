"""The bundled question set is valid against the bundled corpus (loaded with the real loaders)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from eval.questions import RELEVANCE, Question, find_relevance, load_questions, section_texts, shared_terms, validate
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
    assert sum(q.id.startswith("par-") for q in questions) >= 60
    assert sum(q.kind in ("multi-part", "vague") for q in questions) >= 20


def test_every_question_has_a_fixed_split_stratified_by_kind_and_language(questions: list[Question]) -> None:
    assert all(q.split in ("dev", "test") for q in questions)
    by_id = {q.id: q for q in questions}
    assert all(q.split == by_id[q.follows].split for q in questions if q.follows)
    for key in {(q.kind, q.lang) for q in questions if not q.follows}:
        stratum = [q for q in questions if (q.kind, q.lang) == key and not q.follows]
        assert abs(sum(q.split == "dev" for q in stratum) - sum(q.split == "test" for q in stratum)) <= 1, key


def test_strict_paraphrases_share_no_content_word_with_their_sections(questions: list[Question], docs: dict[str, Document]) -> None:
    sections = {doc_id: section_texts(doc) for doc_id, doc in docs.items()}
    shared = {
        (q.id, e.section): words
        for q in questions if q.id.startswith("par-")
        for e in q.expected
        if (words := shared_terms(q.question, sections[e.doc][e.section]))
    }
    assert shared == {}


def test_stored_relevance_is_current(questions: list[Question], docs: dict[str, Document]) -> None:
    """eval/relevance.yaml must match the corpus: run `lotse eval relevance` after editing either."""
    stored = yaml.safe_load(RELEVANCE.read_text(encoding="utf-8")) or {}
    assert find_relevance(questions, docs) == stored


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
