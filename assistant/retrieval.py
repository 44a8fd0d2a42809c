"""Hybrid retrieval: dense (Chroma) and keyword (BM25) results fused by weighted reciprocal rank."""

from __future__ import annotations

import time
from typing import Protocol

from assistant.settings import RetrievalSettings
from assistant.types import Hit, Retrieval, Timings
from ingest.index import Index
from ingest.types import Filters


class Reranker(Protocol):
    """Reorders fused hits for a question (e.g. a cross-encoder)."""

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]: ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder (hub id or local folder); off by default."""

    def __init__(self, model: str) -> None:
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(model, device="cpu")

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        scores = self._model.predict([(question, h.chunk.text) for h in hits])
        order = sorted(range(len(hits)), key=lambda i: -float(scores[i]))
        return [hits[i] for i in order]


def build_reranker(model: str | None) -> Reranker | None:
    return CrossEncoderReranker(model) if model else None


class Retriever:
    """Finds the chunks for a question in one index."""

    def __init__(self, index: Index, settings: RetrievalSettings | None = None) -> None:
        self.index = index
        settings = settings or RetrievalSettings()
        self.dense_weight = settings.dense_weight
        self.keyword_weight = settings.keyword_weight
        self.keyword_weight_en = settings.keyword_weight_en
        self.rrf_k = settings.rrf_k
        self.depth = settings.depth
        self.rerank_depth = settings.rerank_depth
        self.reranker = build_reranker(settings.reranker_model)

    def retrieve(self, question: str, k: int = 10, filters: Filters | None = None, language: str = "de") -> Retrieval:
        filters = filters or Filters()
        depth = max(self.depth, k)
        timings = Timings()
        t0 = time.perf_counter()
        vector = self.index.embedder.embed_queries([question])[0]
        timings.embed = time.perf_counter() - t0
        t1 = time.perf_counter()
        dense = [
            Hit(chunk, score, dense=score, dense_rank=rank)
            for rank, (chunk, score) in enumerate(self.index.store.query(vector, depth, filters), 1)
        ]
        keyword_hits = self.index.keyword().search(question, depth, filters)
        stored = {c.chunk_id: c for c in self.index.store.get([h.chunk_id for h in keyword_hits])}
        keyword = [
            Hit(stored[h.chunk_id], h.score, keyword=h.score, keyword_rank=rank)
            for rank, h in enumerate(keyword_hits, 1)
            if h.chunk_id in stored
        ]
        fused = self.fuse(dense, keyword, self.keyword_weight_en if language == "en" else self.keyword_weight)
        if self.reranker is not None:
            fused = self.reranker.rerank(question, fused[: max(k, self.rerank_depth)])
        fused = fused[:k]
        timings.retrieve = time.perf_counter() - t1
        timings.total = time.perf_counter() - t0
        return Retrieval(fused=fused, dense=dense[:k], keyword=keyword[:k], timings=timings, vector=vector)

    def fuse(self, dense: list[Hit], keyword: list[Hit], keyword_weight: float) -> list[Hit]:
        """Weighted reciprocal-rank fusion of the two ranked lists."""
        merged: dict[str, Hit] = {}
        for hit in dense:
            merged[hit.chunk.chunk_id] = Hit(hit.chunk, 0.0, dense=hit.dense, dense_rank=hit.dense_rank)
        for hit in keyword:
            entry = merged.setdefault(hit.chunk.chunk_id, Hit(hit.chunk, 0.0))
            entry.keyword, entry.keyword_rank = hit.keyword, hit.keyword_rank
        order = fuse_rankings(
            [h.chunk.chunk_id for h in dense], [h.chunk.chunk_id for h in keyword],
            self.dense_weight, keyword_weight, self.rrf_k,
        )
        for chunk_id, fused_score in order:
            merged[chunk_id].score = fused_score
        return [merged[chunk_id] for chunk_id, _ in order]


def fuse_rankings(dense: list[str], keyword: list[str], dense_weight: float, keyword_weight: float, rrf_k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion: score = sum of weight / (k + rank) over the lists."""
    scores: dict[str, float] = {}
    for weight, ranking in ((dense_weight, dense), (keyword_weight, keyword)):
        for rank, chunk_id in enumerate(ranking, 1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])
