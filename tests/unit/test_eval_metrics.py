"""Evaluation metrics against hand-computed values, the quality gate and the report diff."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.gaps import agglomerate
from eval.gate import Thresholds, Violation, check, format_violations, load_thresholds
from eval.metrics import evaluate_runs, ranked_keys
from eval.questions import Question
from eval.report import compare_reports, failure_reasons, lower_is_better
from eval.runner import first_sentence


def q(qid: str, *expected: tuple[str, str], kind: str = "fact") -> Question:
    return Question(
        id=qid, lang="de", kind=kind, question=f"Frage {qid}?",
        expected=[{"doc": d, "section": s} for d, s in expected],
        key_facts=["a", "b"] if expected else [],
    )


Q1 = q("q1", ("A", "1 Eins"))
Q2 = q("q2", ("B", "2 Zwei"))
Q3 = q("q3", ("C", "3 Drei"), ("D", "4 Vier"), kind="multi-document")
Q4 = q("q4", kind="unanswerable")


def test_ranked_keys_collapse_chunks_of_an_expected_section() -> None:
    hits = [
        ("A", ("Doc A", "1 Eins"), "A:1"),
        ("A", ("Doc A", "1 Eins", "1.1 Unterabschnitt"), "A:2"),  # below the expected section
        ("X", ("Doc X", "1 Eins"), "X:1"),  # same heading, other document
        ("A", ("Doc A", "5 Fünf"), "A:3"),
        ("X", ("Doc X", "1 Eins"), "X:1"),  # duplicate chunk
    ]
    assert ranked_keys(Q1.relevant, hits) == ["A#1 Eins", "X:1", "A:3"]


def test_ir_metrics_by_hand() -> None:
    runs = {
        "q1": ["A#1 Eins", "X:1"],  # rank 1
        "q2": ["X:1", "Y:1", "Z:1", "B#2 Zwei"],  # rank 4
        "q3": ["C#3 Drei", "X:1", "X:2", "X:3", "X:4", "X:5", "D#4 Vier"],  # ranks 1 and 7 of two
        "q4": ["X:1"],  # unanswerable: not scored
    }
    m = evaluate_runs([Q1, Q2, Q3, Q4], runs)
    # hit@1: q1, q3 -> 2/3; hit@5: all three; RR 1, 1/4, 1
    assert m["hit@1"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["hit@5"] == pytest.approx(1.0)
    assert m["MRR@10"] == pytest.approx((1 + 0.25 + 1) / 3, abs=1e-4)
    ndcg_q2 = 1 / math.log2(5)
    ndcg_q3 = (1 + 1 / math.log2(8)) / (1 + 1 / math.log2(3))
    assert m["nDCG@10"] == pytest.approx((1 + ndcg_q2 + ndcg_q3) / 3, abs=1e-4)


def test_ir_metrics_misses_and_cutoffs() -> None:
    runs = {
        "q1": ["X:1", "X:2", "X:3", "X:4", "X:5", "A#1 Eins"],  # rank 6: outside hit@5, inside @10
        "q2": [],  # nothing retrieved
    }
    m = evaluate_runs([Q1, Q2], runs)
    assert m["hit@1"] == 0.0 and m["hit@5"] == 0.0
    assert m["MRR@10"] == pytest.approx((1 / 6) / 2, abs=1e-4)
    assert m["nDCG@10"] == pytest.approx((1 / math.log2(7)) / 2, abs=1e-4)


def test_ir_metrics_without_answerable_questions_are_zero() -> None:
    assert evaluate_runs([Q4], {"q4": ["X:1"]}) == {"hit@1": 0.0, "hit@5": 0.0, "MRR@10": 0.0, "nDCG@10": 0.0}


# --- gate -------------------------------------------------------------------------------------


def test_thresholds_file_format() -> None:
    t = Thresholds.from_mapping({"hit@5": 0.8, "min": {"passed": 0.3}, "max": {"invented citations": 0}})
    assert t.minimum == {"hit@5": 0.8, "passed": 0.3}
    assert t.maximum == {"invented citations": 0.0}
    with pytest.raises(TypeError):
        Thresholds.from_mapping({"typo": {"hit@5": 0.8}})


def test_gate_reports_every_violation() -> None:
    t = Thresholds({"hit@5": 0.8, "MRR@10": 0.6, "nDCG@10": 0.5}, {"false refusals": 0.1, "invented citations": 0})
    metrics = {"hit@5": 0.79, "MRR@10": 0.6, "false refusals": 0.12, "invented citations": 0.0}
    violations = check(metrics, t)
    assert violations == [
        Violation("hit@5", 0.79, 0.8, "min"),
        Violation("nDCG@10", None, 0.5, "min"),  # a missing metric is a violation
        Violation("false refusals", 0.12, 0.1, "max"),
    ]
    text = format_violations(violations)
    assert "hit@5 = 0.79 < Minimum 0.8" in text and "false refusals = 0.12 > Maximum 0.1" in text
    assert "nDCG@10: fehlt" in text
    assert check({"hit@5": 0.8, "MRR@10": 0.61, "nDCG@10": 0.5, "false refusals": 0.1, "invented citations": 0}, t) == []
    assert check({**metrics, "invented citations": 1.0}, Thresholds({}, {"invented citations": 0}))


def test_bundled_thresholds_are_sane() -> None:
    t = load_thresholds()
    assert {"hit@5", "MRR@10", "key-fact recall", "passed"} <= set(t.minimum)
    assert t.maximum.get("invented citations") == 0
    assert "false refusals" in t.maximum
    assert all(0 < v <= 1 for v in t.minimum.values())


# --- report comparison ------------------------------------------------------------------------


def report(metrics: dict[str, float], passed: dict[str, bool]) -> dict[str, object]:
    return {"created": "2026-01-01", "metrics": metrics,
            "questions": [{"id": qid, "passed": ok} for qid, ok in passed.items()]}


def test_compare_reports() -> None:
    before = report({"questions": 3, "hit@5": 0.8, "false refusals": 0.2, "invented citations": 1, "total p95 (s)": 1.0, "old": 1.0},
                    {"a": True, "b": False, "c": True, "gone": True})
    after = report({"questions": 4, "hit@5": 0.85, "false refusals": 0.25, "invented citations": 0, "total p95 (s)": 1.0},
                   {"a": False, "b": True, "c": True, "new": False})
    diff = compare_reports(before, after)
    rows = {d.metric: d for d in diff.metrics}
    assert rows["hit@5"].delta == pytest.approx(0.05) and rows["hit@5"].verdict == "better"
    assert rows["false refusals"].delta == pytest.approx(0.05) and rows["false refusals"].verdict == "worse"
    assert rows["invented citations"].delta == -1 and rows["invented citations"].verdict == "better"
    assert rows["total p95 (s)"].verdict == "same"
    assert rows["questions"].verdict == "same"  # neutral
    assert rows["old"].after is None and rows["old"].delta is None and rows["old"].verdict == "same"
    assert diff.now_failing == ["a"] and diff.now_passing == ["b"]
    assert diff.added == ["new"] and diff.removed == ["gone"]
    assert lower_is_better("embed p50 (s)") and not lower_is_better("passed")


def test_compare_ignores_noise() -> None:
    before = report({"hit@5": 0.8, "MRR@10": 0.6357, "total p50 (s)": 1.0, "embed p50 (s)": 0.1}, {})
    after = report({"hit@5": 0.8003, "MRR@10": 0.6, "total p50 (s)": 1.15, "embed p50 (s)": 0.2}, {})
    verdicts = {d.metric: d.verdict for d in compare_reports(before, after).metrics}
    assert verdicts == {"hit@5": "same", "MRR@10": "worse", "total p50 (s)": "same", "embed p50 (s)": "worse"}


def test_failure_reasons() -> None:
    base = {"passed": False, "answerable": True, "refused": False, "facts_missing": ["x"], "expected_cited": False, "invented": 2}
    assert failure_reasons(base) == ["Fakten fehlen: x", "kein erwarteter Abschnitt zitiert", "2 erfundene Zitat(e)"]
    assert failure_reasons({**base, "refused": True, "invented": 0}) == ["abgelehnt"]
    assert failure_reasons({**base, "answerable": False}) == ["beantwortet statt abgelehnt"]
    assert failure_reasons({**base, "passed": True}) == []


# --- gap clustering ---------------------------------------------------------------------------


def test_agglomerate_average_linkage() -> None:
    angles = np.radians([0, 10, 20, 90, 95, 180])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    # cos 10° = 0.985, cos 20° = 0.940: with 0.95 the 20° point joins {0°, 10°} only on average (0.962)
    assert agglomerate(vectors, 0.95) == [[0, 1, 2], [3, 4], [5]]
    assert agglomerate(vectors, 0.999) == [[0], [1], [2], [3], [4], [5]]
    assert agglomerate(vectors, -1.0) == [[0, 1, 2, 3, 4, 5]]
    assert agglomerate(np.zeros((0, 2)), 0.9) == []


def test_the_first_statement_skips_a_list_header_even_with_its_citation_marks() -> None:
    answer = "Neu in CityGML 3.0 sind: [1]\n- ein Space-Konzept für Räume [1]\n- Versionierung [1]"
    assert first_sentence(answer) == "ein Space-Konzept für Räume"
    assert first_sentence("Die Quote liegt bei 65 %. [1] Mehr folgt. [2]") == "Die Quote liegt bei 65 %."
    # abbreviations do not end it, and a lead-in stays with what it introduces
    assert first_sentence("Eine DSFA nach Art. 35 DSGVO ist Pflicht. [1] Sonst nicht.") == "Eine DSFA nach Art. 35 DSGVO ist Pflicht."
    assert first_sentence("LoD1 ist ein Klötzchenmodell: Gebäude mit einer Höhe. [1] LoD2 hat Dächer.") == (
        "LoD1 ist ein Klötzchenmodell: Gebäude mit einer Höhe.")
    # a sentence pointing back belongs to the one it points to
    assert first_sentence("DIN gab die DIN SPEC 91607 heraus. Sie wurde am 08.10.2024 veröffentlicht. [1] Mehr.") == (
        "DIN gab die DIN SPEC 91607 heraus. Sie wurde am 08.10.2024 veröffentlicht.")
    assert first_sentence("DIN gab die DIN SPEC 91607 heraus. Es gibt sie kostenlos. [1]") == "DIN gab die DIN SPEC 91607 heraus."
