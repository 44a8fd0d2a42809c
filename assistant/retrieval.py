"""Hybrid retrieval: dense (Chroma) and keyword (BM25) results fused by weighted reciprocal rank."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.types import Hit, Retrieval, Timings
from ingest.index import Index


@dataclass(frozen=True)
class Filters:
    """Which documents may be retrieved; empty fields allow everything."""

    doc_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    visibility: tuple[str, ...] = ("public", "internal")

    def where(self) -> dict[str, Any] | None:
        """The filter as a Chroma `where` clause."""
        clauses: list[dict[str, Any]] = []
        if self.doc_types:
            clauses.append({"doc_type": {"$in": list(self.doc_types)}})
        if set(self.visibility) != {"public", "internal"}:
            clauses.append({"visibility": {"$in": list(self.visibility)}})
        if self.tags:
            tag_clauses: list[dict[str, Any]] = [{f"tag_{t}": True} for t in self.tags]
            clauses.append(tag_clauses[0] if len(tag_clauses) == 1 else {"$or": tag_clauses})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allows(self) -> Callable[[dict[str, Any]], bool] | None:
        """The same filter as a predicate over keyword-index metadata."""
        if self.where() is None:
            return None

        def allow(meta: dict[str, Any]) -> bool:
            if self.doc_types and meta.get("doc_type") not in self.doc_types:
                return False
            if meta.get("visibility") not in self.visibility:
                return False
            if self.tags and not any(f"|{t}|" in str(meta.get("tags", "")) for t in self.tags):
                return False
            return True

        return allow


class Retriever:
    """Finds the chunks for a question in one index."""

    def __init__(self, index: Index, dense_weight: float = 1.0, keyword_weight: float = 1.0, rrf_k: int = 60) -> None:
        self.index = index
        self.dense_weight = dense_weight
        self.keyword_weight = keyword_weight
        self.rrf_k = rrf_k

    def retrieve(self, question: str, k: int = 10, filters: Filters | None = None, depth: int = 40) -> Retrieval:
        filters = filters or Filters()
        timings = Timings()
        t0 = time.perf_counter()
        vector = self.index.embedder.embed_queries([question])[0]
        timings.embed = time.perf_counter() - t0
        t1 = time.perf_counter()
        dense = [
            Hit(chunk, score, dense=score, dense_rank=rank)
            for rank, (chunk, score) in enumerate(self.index.store.query(vector, depth, filters.where()), 1)
        ]
        keyword_index = self.index.keyword()
        keyword_hits = keyword_index.search(question, depth, filters.allows())
        stored = {c.chunk_id: c for c in self.index.store.get([h.chunk_id for h in keyword_hits])}
        keyword = [
            Hit(stored[h.chunk_id], h.score, keyword=h.score, keyword_rank=rank)
            for rank, h in enumerate(keyword_hits, 1)
            if h.chunk_id in stored
        ]
        fused = self.fuse(dense, keyword)[:k]
        timings.retrieve = time.perf_counter() - t1
        timings.total = time.perf_counter() - t0
        return Retrieval(fused=fused, dense=dense[:k], keyword=keyword[:k], timings=timings)

    def fuse(self, dense: list[Hit], keyword: list[Hit]) -> list[Hit]:
        """Weighted reciprocal-rank fusion of the two ranked lists."""
        merged: dict[str, Hit] = {}
        for hit in dense:
            merged[hit.chunk.chunk_id] = Hit(hit.chunk, 0.0, dense=hit.dense, dense_rank=hit.dense_rank)
        for hit in keyword:
            entry = merged.setdefault(hit.chunk.chunk_id, Hit(hit.chunk, 0.0))
            entry.keyword, entry.keyword_rank = hit.keyword, hit.keyword_rank
        for hit in merged.values():
            if hit.dense_rank is not None:
                hit.score += self.dense_weight / (self.rrf_k + hit.dense_rank)
            if hit.keyword_rank is not None:
                hit.score += self.keyword_weight / (self.rrf_k + hit.keyword_rank)
        return sorted(merged.values(), key=lambda h: -h.score)
