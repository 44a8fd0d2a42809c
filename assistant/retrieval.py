"""Hybrid retrieval: dense (Chroma) and keyword (BM25) candidates, fused and optionally rescored."""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from assistant.passages import UnitVectors
from assistant.ranking import Candidates, fuse, profile
from assistant.settings import RetrievalSettings
from assistant.types import Hit, Retrieval, Timings
from ingest.index import Index
from ingest.types import Filters, StoredChunk, Vector


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
    """Finds the chunks for a question in one index: dense and keyword candidates, fused
    (assistant.ranking), optionally rescored by their best sentence, optionally reranked."""

    def __init__(self, index: Index, settings: RetrievalSettings | None = None, vectors: UnitVectors | None = None) -> None:
        self.index = index
        self.settings = settings or RetrievalSettings()
        self.vectors = vectors or UnitVectors(index.embedder, store=index.units)
        self.reranker = build_reranker(self.settings.reranker_model)

    def retrieve(self, question: str, k: int = 10, filters: Filters | None = None, language: str = "de",
                 vector: Vector | None = None) -> Retrieval:
        """The k best hits (fused), and each retriever's own top k, for a question."""
        timings = Timings()
        t0 = time.perf_counter()
        if vector is None:
            vector = self.index.embedder.embed_queries([question])[0]
        timings.embed = time.perf_counter() - t0
        t1 = time.perf_counter()
        dense, keyword, candidates, chunks = self.candidates(question, vector, max(self.settings.depth, k), filters or Filters())
        order, scores = fuse(candidates, self.settings, language)
        fused = [self._hit(chunks[i], float(scores[i]), candidates, int(i)) for i in order[: max(k, self.settings.rerank_depth)]]
        if self.reranker is not None:
            fused = self.reranker.rerank(question, fused)
        timings.retrieve = time.perf_counter() - t1
        timings.total = time.perf_counter() - t0
        return Retrieval(fused=fused[:k], dense=dense[:k], keyword=keyword[:k], timings=timings, vector=vector,
                         candidates=candidates, order=order, profile=candidates.profile)

    def candidates(
        self, question: str, vector: Vector, depth: int, filters: Filters
    ) -> tuple[list[Hit], list[Hit], Candidates, list[StoredChunk]]:
        """Both retrievers' top `depth`, and their union as `Candidates` for the fusion."""
        keyword_index = self.index.keyword()  # first: it notices a re-ingest
        found = self.index.store.query(vector, depth, filters)
        bm25 = keyword_index.scores(question)
        keyword_hits = keyword_index.search(question, depth, filters, bm25)
        chunks = {c.chunk_id: c for c, _ in found}
        chunks.update((c.chunk_id, c) for c in self.index.store.get([h.chunk_id for h in keyword_hits if h.chunk_id not in chunks]))
        ids = list(chunks)
        cosine = {c.chunk_id: s for c, s in found}
        floor = min(cosine.values(), default=0.0)
        k1 = self.index.keyword_settings.bm25_k1
        prof = profile(question, keyword_index, k1)
        synonyms = keyword_index.expansion(question, self.settings.thesaurus_max_df)
        expanded = keyword_index.scores(synonyms) if synonyms else np.zeros(len(keyword_index), dtype=np.float32)
        expanded_max = max((k1 + 1) * sum(keyword_index.idf(t) for t in synonyms), 1e-9)
        positions = [keyword_index.position(i) for i in ids]
        dense_rank = {c.chunk_id: r for r, (c, _) in enumerate(found, 1)}
        keyword_rank = {h.chunk_id: r for r, h in enumerate(keyword_hits, 1)}
        ordered = [chunks[i] for i in ids]
        candidates = Candidates(
            ids=ids,
            dense=np.array([cosine.get(i, floor) for i in ids]),
            keyword=np.array([float(bm25[p]) if p is not None else 0.0 for p in positions]) / prof.max_bm25,
            expanded=np.array([float(expanded[p]) if p is not None else 0.0 for p in positions]) / expanded_max,
            coverage=keyword_index.coverage(question, positions),
            heading=keyword_index.share(question, [" ".join(chunks[i].section_path[1:]) for i in ids]),
            dense_rank=np.array([dense_rank.get(i, depth + 1) for i in ids], dtype=float),
            keyword_rank=np.array([keyword_rank.get(i, depth + 1) for i in ids], dtype=float),
            depth=depth,
            profile=prof,
            sentence=self.vectors.best_units(ordered, vector),
        )
        dense = [Hit(c, s, dense=s, dense_rank=r) for r, (c, s) in enumerate(found, 1)]
        keyword = [Hit(chunks[h.chunk_id], h.score, keyword=h.score, keyword_rank=r)
                   for r, h in enumerate(keyword_hits, 1) if h.chunk_id in chunks]
        return dense, keyword, candidates, ordered

    @staticmethod
    def _hit(chunk: StoredChunk, score: float, c: Candidates, i: int) -> Hit:
        rank_d, rank_k = int(c.dense_rank[i]), int(c.keyword_rank[i])
        return Hit(chunk, score, dense=float(c.dense[i]), keyword=float(c.keyword[i]),
                   dense_rank=rank_d if rank_d <= c.depth else None, keyword_rank=rank_k if rank_k <= c.depth else None)
