"""Retrieval metrics (hit@k, MRR@10, nDCG@10 with binary relevance), keyed by document section.

Plain definitions in a few lines each; they are checked against hand-computed values in
tests/unit/test_eval_metrics.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from eval.questions import Expected, Question

NAMES = ("hit@1", "hit@5", "MRR@10", "nDCG@10")


def section_key(doc_id: str, heading: str) -> str:
    return f"{doc_id}#{heading}"


def ranked_keys(relevant: Sequence[Expected], hits: Iterable[tuple[str, Sequence[str], str]]) -> list[str]:
    """Turn ranked hits (doc_id, section path, chunk id) into ranked relevance keys.

    A hit counts for a relevant section when it lies in that section or below it; each
    relevant section counts once (its best rank), so several chunks of one section do not
    inflate nDCG. Other hits keep their own chunk key.
    """
    out: list[str] = []
    seen: set[str] = set()
    for doc_id, path, chunk_id in hits:
        key = next((section_key(e.doc, e.section) for e in relevant if e.doc == doc_id and e.section in path), chunk_id)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def ranking_metrics(ranked: Sequence[str], relevant: set[str]) -> dict[str, float]:
    """The four metrics of one ranking against its set of relevant keys."""
    first = next((i for i, key in enumerate(ranked[:10]) if key in relevant), None)
    gains = sum(1 / math.log2(i + 2) for i, key in enumerate(ranked[:10]) if key in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    return {
        "hit@1": float(first == 0),
        "hit@5": float(first is not None and first < 5),
        "MRR@10": 1 / (first + 1) if first is not None else 0.0,
        "nDCG@10": gains / ideal if ideal else 0.0,
    }


def mean_metrics(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    if not rows:
        return {name: 0.0 for name in NAMES}
    return {name: round(sum(r[name] for r in rows) / len(rows), 4) for name in NAMES}


def evaluate_runs(questions: Sequence[Question], runs: Mapping[str, list[str]]) -> dict[str, float]:
    """Mean metrics over the answerable questions; `runs` maps question id -> ranked keys."""
    rows = [
        ranking_metrics(runs[q.id], {section_key(e.doc, e.section) for e in q.relevant})
        for q in questions
        if q.answerable and q.id in runs
    ]
    return mean_metrics(rows)
