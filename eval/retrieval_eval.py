"""Retrieval comparison on a question set: dense, keyword (with/without compounds), fusions."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.conversation import Turn, condense
from assistant.retrieval import fuse_rankings
from eval.metrics import evaluate_runs, ranked_keys
from eval.questions import Question
from ingest.index import FILTER_FIELDS, Index, keyword_text
from ingest.keyword import Analyzer, KeywordIndex

Ranked = list[tuple[str, float]]  # (chunk id, score), best first


@dataclass
class Rankings:
    """Per question: dense and keyword rankings to fuse offline."""

    dense: dict[str, Ranked]
    keyword: dict[str, Ranked]
    keyword_plain: dict[str, Ranked]
    chunks: dict[str, tuple[str, tuple[str, ...]]]  # chunk id -> (doc id, section path)


def retrieval_queries(questions: Sequence[Question]) -> dict[str, str]:
    """The query per question; follow-ups are condensed with their conversation so far."""
    queries: dict[str, str] = {}
    history: list[Turn] = []
    for q in questions:
        if q.kind != "follow-up":
            history = []
        query = condense(q.question, history)
        queries[q.id] = query
        history.append(Turn(q.question, condensed=query))
    return queries


def collect(index: Index, questions: Sequence[Question], depth: int = 50) -> Rankings:
    stored = list(index.store.iter_all(with_text=True))
    ids = [s.chunk_id for s in stored]
    texts = [keyword_text(json.loads(s.metadata["section"]), s.text) for s in stored]
    metas = [{k: s.metadata.get(k, "") for k in FILTER_FIELDS} for s in stored]
    plain = KeywordIndex.build(Analyzer(index.keyword_settings.language), ids, texts, metas, decompound=False)
    compound = index.keyword()
    queries = retrieval_queries(questions)
    vectors = index.embedder.embed_queries([queries[q.id] for q in questions])
    rankings = Rankings({}, {}, {}, {s.chunk_id: (s.doc_id, s.section_path) for s in stored})
    for q, vector in zip(questions, vectors):
        rankings.dense[q.id] = [(c.chunk_id, s) for c, s in index.store.query(vector, depth)]
        rankings.keyword[q.id] = [(h.chunk_id, h.score) for h in compound.search(queries[q.id], depth)]
        rankings.keyword_plain[q.id] = [(h.chunk_id, h.score) for h in plain.search(queries[q.id], depth)]
    return rankings


def score(questions: Sequence[Question], rankings: Rankings, ranking: Callable[[str], Ranked]) -> dict[str, float]:
    runs = {}
    for q in questions:
        if q.answerable:
            hits = [(rankings.chunks[c][0], rankings.chunks[c][1], c) for c, _ in ranking(q.id)[:20]]
            runs[q.id] = ranked_keys(q, hits)
    return evaluate_runs(questions, runs)


def fused(rankings: Rankings, dense_weight: float, keyword_weight: float, rrf_k: int) -> Callable[[str], Ranked]:
    def ranking(qid: str) -> Ranked:
        return fuse_rankings(
            [c for c, _ in rankings.dense[qid]], [c for c, _ in rankings.keyword[qid]],
            dense_weight, keyword_weight, rrf_k,
        )

    return ranking
