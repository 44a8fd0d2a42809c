"""Run a question set through the answer engine and score every answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from assistant.answer import AnswerEngine
from assistant.conversation import Turn
from eval.metrics import evaluate_runs, ranked_keys
from eval.questions import Question, fact_matches


@dataclass
class QuestionResult:
    """One question's answer and how it scored."""

    id: str
    kind: str
    lang: str
    paraphrase: bool
    answerable: bool
    question: str
    answer: str
    refused: bool
    ranked: list[str]  # relevance keys of the top 10 hits
    cited: list[str]  # "doc › section path" of each citation
    facts_found: list[str]
    facts_missing: list[str]
    expected_cited: bool  # an expected section is cited
    citations_in_expected: int  # citations inside an expected section or holding a key fact
    citations: int
    invented: int
    unsupported: int
    sentences: int
    timings: dict[str, float] = field(default_factory=dict)
    evidence: float = 0.0
    uncovered: float = 0.0

    @property
    def passed(self) -> bool:
        if not self.answerable:
            return self.refused
        return not self.refused and not self.facts_missing and self.expected_cited and self.invented == 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"passed": self.passed}


def run_questions(engine: AnswerEngine, questions: Sequence[Question], progress: Callable[[int], None] | None = None) -> list[QuestionResult]:
    """Ask every question (follow-ups with their conversation so far) and score the answers."""
    results: list[QuestionResult] = []
    history: list[Turn] = []
    for q in questions:
        if q.kind != "follow-up":
            history = []
        answer = engine.answer(q.question, history)
        history.append(Turn(q.question, answer.text, answer.query))
        texts = [answer.text] + [c.quote for c in answer.citations]
        found = [f for f in q.key_facts if any(fact_matches(f, t) for t in texts)]
        def in_expected(doc: str, section: str) -> bool:
            return any(e.doc == doc and e.section in section.split(" › ") for e in q.expected)
        results.append(
            QuestionResult(
                id=q.id, kind=q.kind, lang=q.lang, paraphrase=q.paraphrase, answerable=q.answerable,
                question=q.question, answer=answer.text, refused=answer.refused,
                ranked=ranked_keys(q, answer.ranked),
                cited=[f"{c.doc_id} › {c.section}" for c in answer.citations],
                facts_found=found, facts_missing=[f for f in q.key_facts if f not in found],
                expected_cited=any(in_expected(c.doc_id, c.section) for c in answer.citations),
                citations_in_expected=sum(
                    1 for c in answer.citations if in_expected(c.doc_id, c.section) or any(fact_matches(f, c.quote) for f in q.key_facts)
                ),
                citations=len(answer.citations), invented=answer.invented, unsupported=answer.unsupported,
                sentences=answer.sentences,
                timings=answer.timings.as_dict(), evidence=answer.evidence, uncovered=answer.uncovered,
            )
        )
        if progress:
            progress(len(results))
    return results


def _mean(values: Sequence[float]) -> float:
    return round(float(np.mean(values)), 4) if values else 0.0


def summarize(questions: Sequence[Question], results: Sequence[QuestionResult]) -> dict[str, float]:
    """All metrics of one group of results."""
    ids = {r.id for r in results}
    subset = [q for q in questions if q.id in ids]
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in answerable if not r.refused]
    metrics: dict[str, float] = {"questions": len(results)}
    metrics.update(evaluate_runs(subset, {r.id: r.ranked for r in answerable}))
    facts = sum(len(r.facts_found) + len(r.facts_missing) for r in answered)
    metrics["key-fact recall"] = round(sum(len(r.facts_found) for r in answered) / facts, 4) if facts else 0.0
    cited = sum(r.citations for r in answered)
    sentences = sum(r.sentences for r in answered)
    metrics["supported sentences"] = round(1 - sum(r.unsupported for r in answered) / sentences, 4) if sentences else 0.0
    metrics["citation precision"] = round(sum(r.citations_in_expected for r in answered) / cited, 4) if cited else 0.0
    metrics["citation recall"] = _mean([float(r.expected_cited) for r in answered])
    metrics["invented citations"] = float(sum(r.invented for r in results))
    metrics["true refusals"] = _mean([float(r.refused) for r in unanswerable])
    metrics["false refusals"] = _mean([float(r.refused) for r in answerable])
    metrics["passed"] = _mean([float(r.passed) for r in results])
    for stage in ("embed", "retrieve", "generate", "total"):
        values = [r.timings.get(stage, 0.0) for r in results]
        if values:
            metrics[f"{stage} p50 (s)"] = round(float(np.percentile(values, 50)), 4)
            metrics[f"{stage} p95 (s)"] = round(float(np.percentile(values, 95)), 4)
    return metrics
