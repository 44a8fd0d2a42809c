"""Passages handed to generators, split into quotable units (sentences, list items, blocks)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from assistant.types import Hit
from ingest.embedders import Embedder
from ingest.types import StoredChunk, UnitStore, Vector
from ingest.units import Unit, clean_markdown, split_units

__all__ = ["Passage", "Unit", "UnitVectors", "clean_markdown", "make_passages", "split_units", "term_overlap", "units_of"]


@dataclass
class Passage:
    """A numbered passage: the hit it comes from and its units."""

    n: int
    hit: Hit
    units: list[Unit]

    @property
    def kind(self) -> str:
        return self.hit.chunk.kind


def make_passages(hits: Sequence[Hit]) -> list[Passage]:
    return [Passage(n, hit, units_of(hit.chunk)) for n, hit in enumerate(hits, 1)]


@lru_cache(maxsize=4096)
def _units(text: str) -> tuple[Unit, ...]:
    return tuple(split_units(text))


def units_of(chunk: StoredChunk) -> list[Unit]:
    """The chunk's units (the same split ingest stored their vectors by)."""
    return list(_units(chunk.text))


class UnitVectors:
    """Embeddings of short texts (passage role): the units' vectors stored at ingest, others
    (and units of an index made without them) embedded on demand; cached per process (LRU)."""

    def __init__(self, embedder: Embedder, size: int = 20000, store: UnitStore | None = None) -> None:
        self.embedder = embedder
        self.store = store
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def load(self, chunks: Sequence[StoredChunk]) -> None:
        """Fetch the stored vectors of these chunks' units not cached yet (one store call)."""
        if self.store is None:
            return
        wanted = {f"{c.chunk_id}#{u.position}": u.text for c in chunks for u in units_of(c) if u.text not in self._cache}
        if not wanted:
            return
        found = self.store.vectors(list(wanted))
        with self._lock:
            for uid, vector in found.items():
                self._put(wanted[uid], vector)

    def best_units(self, chunks: Sequence[StoredChunk], query: Vector) -> BestUnits:
        """The units of these chunks closest to the query, computed on demand."""
        return BestUnits(self, chunks, query)


    def _put(self, text: str, vector: Vector) -> None:
        self._cache[text] = vector
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def __call__(self, texts: Sequence[str]) -> Vector:
        """One row per text, in order."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        with self._lock:
            known = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.embed_passages(missing), strict=True))
        with self._lock:
            for text, vector in known.items():
                self._put(text, vector)
        return np.vstack([known[t] for t in texts])


class BestUnits:
    """Per chunk, its unit closest to the query (`assistant.ranking.Sentences`), memoised."""

    def __init__(self, vectors: UnitVectors, chunks: Sequence[StoredChunk], query: Vector) -> None:
        self._vectors, self._chunks, self._query = vectors, chunks, query
        self._best: dict[int, tuple[float, str]] = {}

    def _fill(self, idx: Sequence[int] | npt.NDArray[np.intp]) -> list[tuple[float, str]]:
        missing = [int(i) for i in idx if int(i) not in self._best]
        self._vectors.load([self._chunks[i] for i in missing])
        for i in missing:
            units = units_of(self._chunks[i])
            if not units:
                self._best[i] = (-1.0, "")
                continue
            sims = self._vectors([u.text for u in units]) @ self._query
            k = int(np.argmax(sims))
            self._best[i] = (float(sims[k]), units[k].text)
        return [self._best[int(i)] for i in idx]

    def __call__(self, idx: Sequence[int] | npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        return np.array([s for s, _ in self._fill(idx)], dtype=np.float64)

    def texts(self, idx: Sequence[int] | npt.NDArray[np.intp]) -> list[str]:
        return [t for _, t in self._fill(idx)]


def term_overlap(terms: Sequence[str], text_terms: set[str]) -> float:
    """Share of `terms` (analysed) found in `text_terms`."""
    unique = set(terms)
    return len(unique & text_terms) / len(unique) if unique else 0.0
