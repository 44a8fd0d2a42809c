"""External sets: each in its own format, clear errors for files that are not what they claim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.datasets import DATA_DIR, load_nomiracl, load_sets, load_squad
from ingest.errors import LotseError

SQUAD = {"version": "1.1", "data": [{"title": "Kiel", "paragraphs": [
    {"context": "Kiel liegt an der Ostsee.", "qas": [{"id": "q1", "question": "Wo liegt Kiel?", "answers": [{"text": "an der Ostsee"}]}]},
    {"context": "Die Kieler Woche ist im Juni.", "qas": [
        {"id": "q2", "question": "Wann ist die Kieler Woche?", "answers": [{"text": "im Juni"}]},
        {"id": "q3", "question": "Unmöglich?", "answers": [], "is_impossible": True}]},
]}]}


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_squad_paragraphs_become_passages_and_questions_point_to_their_own(tmp_path: Path) -> None:
    xset = load_squad(write(tmp_path, "s.json", SQUAD), "test", "tune")
    assert [p.text for p in xset.passages] == ["Kiel liegt an der Ostsee.", "Die Kieler Woche ist im Juni."]
    assert [(q.id, sorted(q.relevant), q.answers) for q in xset.questions] == [
        ("q1", ["Kiel-0"], ("an der Ostsee",)), ("q2", ["Kiel-1"], ("im Juni",))]  # impossible ones are left out


def test_nomiracl_halves_share_one_corpus_split_by_sorted_query_id(tmp_path: Path) -> None:
    entries = [{"query_id": qid, "question": f"Frage {qid}?", "subset": "x", "expected": exp,
                "passages": [{"docid": f"{qid}#1", "title": "T", "text": "Text"}, {"docid": "shared#0", "title": "S", "text": "Geteilt"}]}
               for qid, exp in (("b", "answer"), ("a", "refuse"), ("d", "refuse"), ("c", "answer"))]
    calibrate, test = load_nomiracl(write(tmp_path, "n.json", entries))
    assert [q.id for q in calibrate.questions] == ["a", "b"] and [q.id for q in test.questions] == ["c", "d"]
    assert calibrate.passages == test.passages and len(test.passages) == 5
    assert test.role == "held-out" and calibrate.role == "calibrate" and test.questions[1].expected == "refuse"


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "kein gültiges JSON"),
        ({"version": 1}, "kein Feld 'data'"),
        ({"data": [{"title": "x"}]}, "hat keine 'paragraphs'"),
        ({"data": [{"paragraphs": [{"qas": []}]}]}, "hat keinen 'context'"),
        ({"data": [{"paragraphs": [{"context": "x", "qas": []}]}]}, "keine Fragen"),
    ],
)
def test_a_file_that_is_not_squad_gets_a_clear_error(tmp_path: Path, content: object, words: str) -> None:
    with pytest.raises(LotseError) as caught:
        load_squad(write(tmp_path, "kaputt.json", content), "x", "tune")
    assert words in caught.value.message and "SQuAD-JSON" in caught.value.message and "kaputt.json" in caught.value.message


def test_nomiracl_errors_and_unknown_sets(tmp_path: Path) -> None:
    with pytest.raises(LotseError, match="Eintrag 0 unvollständig"):
        load_nomiracl(write(tmp_path, "n.json", [{"query_id": "1", "question": "?"}]))
    with pytest.raises(LotseError, match=r"Unbekannter Datensatz: squad2 .*bekannt: xquad"):
        load_sets(["squad2"])
    with pytest.raises(LotseError, match="nicht gefunden"):
        load_sets(["xquad"], tmp_path)


@pytest.mark.skipif(not DATA_DIR.exists(), reason="../shared/data is not beside the repository")
def test_the_shared_sets_load_with_their_documented_sizes() -> None:
    sizes = {s.name: (len(s.passages), len(s.questions)) for s in load_sets(data_dir=DATA_DIR)}
    assert sizes["xquad"] == (240, 1190) and sizes["mlqa"][1] == 512 and sizes["germanquad"] == (474, 2204)
    assert sizes["nomiracl-calibrate"] == (4368, 221) and sizes["nomiracl-test"] == (4368, 222)
