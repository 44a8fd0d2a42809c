"""The CI quality gate: the question set's test split on the bundled corpus (extractive
generator, default embedder, the shipped preset) must meet every threshold in
eval/thresholds.yaml, answer shape and hygiene included. The report is written into pytest's
tmp dir; the dev split is what the preset was tuned on and is not gated.
"""

from __future__ import annotations

from pathlib import Path

from assistant.answer import AnswerEngine
from eval.gate import check, format_violations, load_thresholds
from eval.questions import load_questions
from eval.report import run_info, write_report
from eval.runner import run_questions


def test_test_split_meets_the_thresholds(corpus_engine: AnswerEngine, tmp_path: Path) -> None:
    assert corpus_engine.settings.generator.backend == "extractive"
    limits = load_thresholds()
    assert limits.preset == corpus_engine.settings.preset, "thresholds were measured with another preset"
    questions = load_questions(split="test")
    results = run_questions(corpus_engine, questions)
    written = write_report(tmp_path / "eval", questions, results, run_info(corpus_engine))
    metrics = written.report["metrics"]
    violations = check(metrics, limits)
    measured = ", ".join(f"{name} {metrics[name]:.3f}" for name in (
        "hit@1", "hit@5", "MRR@10", "key-fact recall", "passed", "key fact first", "true refusals", "false refusals",
        "hygiene violations"))
    assert not violations, (
        f"{format_violations(violations)}\nGemessen: {measured}\n"
        f"Bericht mit den nicht bestandenen Fragen: {written.markdown_path}"
    )
