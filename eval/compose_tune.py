"""Tuning the extractive composer's length: how many sentences an answer may give, and how
close in score to the best one they must be. Decided on the own dev split only; the test split
is reported beside it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from assistant.answer import AnswerEngine
from assistant.settings import GeneratorSettings
from eval.questions import Question
from eval.runner import run_questions, summarize

GRID = {"max_sentences": (3, 4, 5, 6), "margin": (0.05, 0.1, 0.15, 0.25)}  # 6: the direct answer and 3–5 points at most
SHOWN = ("key-fact recall", "passed", "key fact first", "hygiene violations", "words per answer")
Report = dict[str, dict[str, float]]  # "<variant> / <split>" -> metrics


def measure(engine: AnswerEngine, questions: Sequence[Question]) -> dict[str, dict[str, float]]:
    """Metrics per split; all questions are asked in order, so a follow-up has its conversation
    even when the question before it belongs to the other split."""
    results = run_questions(engine, questions)
    out = {}
    for split in ("dev", "test"):
        chosen = [(q, r) for q, r in zip(questions, results, strict=True) if q.split == split]
        metrics = summarize([q for q, _ in chosen], [r for _, r in chosen])
        out[split] = {k: metrics[k] for k in SHOWN}
    return out


def objective(m: dict[str, float]) -> float:
    return m["passed"] + m["key-fact recall"]


def tune_composer(engine: AnswerEngine, questions: Sequence[Question]) -> tuple[dict[str, float], Report]:
    """The grid value with the best passed + key-fact recall on own-dev among those that break
    the hygiene rules no more often than the code's defaults (the test split is only reported);
    `engine`'s generator settings are left as they were."""
    settings = engine.extractive.composer.settings
    kept = {k: getattr(settings, k) for k in GRID}
    start = {k: GeneratorSettings.model_fields[k].default for k in GRID}  # "before": the code's defaults, no preset
    try:
        for k, v in start.items():
            setattr(settings, k, v)
        before = measure(engine, questions)
        best, best_metrics = start, before
        for values in itertools.product(*GRID.values()):
            candidate = dict(zip(GRID, values, strict=True))
            for k, v in candidate.items():
                setattr(settings, k, v)
            m = measure(engine, questions)
            clean = m["dev"]["hygiene violations"] <= before["dev"]["hygiene violations"]
            if clean and objective(m["dev"]) > objective(best_metrics["dev"]):
                best, best_metrics = candidate, m
    finally:
        for k, v in kept.items():
            setattr(settings, k, v)
    return best, {f"{name} / {split}": m[split] for split in ("dev", "test") for name, m in (("before", before), ("chosen", best_metrics))}


def composer_markdown(chosen: dict[str, float], report: Report) -> str:
    """The section of the tuning report on the composer."""
    lines = ["## Antworttext (extraktiv)", "",
             f"Gewählt auf own-dev: {', '.join(f'{k} = {v}' for k, v in chosen.items())} "
             "(Ziel: bestanden + Schlüsselfakten, ohne mehr Verstöße gegen die Antwortregeln). own-test nur berichtet.", "",
             "| Variante / Split | " + " | ".join(SHOWN) + " |", "|---|" + "---:|" * len(SHOWN)]
    lines += [f"| {name} | " + " | ".join(f"{m[k]:g}" for k in SHOWN) + " |" for name, m in report.items()]
    return "\n".join(lines) + "\n"
