"""Retrieval metrics with ranx (standard TREC-style definitions), keyed by document section."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eval.questions import Question

IR_METRICS = ("hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10")
NAMES = {"hit_rate@1": "hit@1", "hit_rate@5": "hit@5", "mrr@10": "MRR@10", "ndcg@10": "nDCG@10"}


def section_key(doc_id: str, heading: str) -> str:
    return f"{doc_id}#{heading}"


def ranked_keys(question: Question, hits: Iterable[tuple[str, Sequence[str], str]]) -> list[str]:
    """Turn ranked hits (doc_id, section path, chunk id) into ranked relevance keys.

    A hit counts for an expected section when it lies in that section or below it; each
    expected section counts once (its best rank), so several chunks of one section do not
    inflate nDCG. Other hits keep their own chunk key.
    """
    out: list[str] = []
    seen: set[str] = set()
    for doc_id, path, chunk_id in hits:
        key = chunk_id
        for exp in question.expected:
            if exp.doc == doc_id and exp.section in path:
                key = section_key(exp.doc, exp.section)
                break
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def evaluate_runs(questions: Sequence[Question], runs: dict[str, list[str]]) -> dict[str, float]:
    """ranx metrics over answerable questions; `runs` maps question id -> ranked keys."""
    from ranx import Qrels, Run, evaluate

    answerable = [q for q in questions if q.answerable and q.id in runs]
    if not answerable:
        return {NAMES[m]: 0.0 for m in IR_METRICS}
    qrels = Qrels({q.id: {section_key(e.doc, e.section): 1 for e in q.expected} for q in answerable})
    run_dict = {
        q.id: {key: float(len(runs[q.id]) - rank) for rank, key in enumerate(runs[q.id])} or {"-": 0.0}
        for q in answerable
    }
    scores = evaluate(qrels, Run(run_dict), list(IR_METRICS), make_comparable=True)
    return {NAMES[m]: round(float(scores[m]), 4) for m in IR_METRICS}
