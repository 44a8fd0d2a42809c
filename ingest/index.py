"""One open index: the embedder, the vector store and the keyword index made with them."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ingest.embedders import Embedder, build_embedder
from ingest.keyword import Analyzer, BM25Index, keyword_identity
from ingest.settings import IndexSettings, KeywordSettings
from ingest.stores import ChromaStore, ChromaUnitStore, index_name, open_client
from ingest.types import UnitStore, VectorStore


@dataclass
class Index:
    """The dense and keyword halves of one index, named by a hash of how it was made."""

    name: str
    embedder: Embedder
    store: VectorStore
    units: UnitStore
    keyword_dir: Path
    keyword_settings: KeywordSettings
    recheck_seconds: float = 5.0
    _keyword: BM25Index | None = field(default=None, repr=False)
    _checked: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def keyword(self) -> BM25Index:
        """The keyword index, reloaded when the store changed (see `refresh`)."""
        self.refresh()
        assert self._keyword is not None
        return self._keyword

    def refresh(self) -> None:
        """Notice a re-ingest (by this or another process) at most every `recheck_seconds`, so a
        query does not pay for a store round trip: a new generation stamp on the store drops
        the cached chunk records and reloads the keyword index (from disk when it was saved
        for that generation and size, else rebuilt from the store)."""
        now = time.monotonic()
        if self._keyword is not None and now - self._checked < self.recheck_seconds:
            return
        with self._lock:
            self._checked = now
            generation = self.store.generation()
            if self._keyword is not None and generation == self._keyword.generation:
                return
            self.store.forget()
            loaded = BM25Index.load(self.keyword_dir, self.keyword_settings)
            fresh = loaded is not None and loaded.generation == generation and len(loaded) == self.store.count()
            self._keyword = loaded if fresh and loaded is not None else self._build_keyword(generation)

    def keyword_stale(self) -> bool:
        """True when the saved keyword index is missing or does not match the store's chunk count."""
        saved = BM25Index.saved_size(self.keyword_dir, keyword_identity(self.keyword_settings))
        return saved != self.store.count()

    def rebuild_keyword(self) -> BM25Index:
        """After an ingest: build BM25 from every chunk in the store, save it (atomically) and
        stamp the store with a new generation, so running servers reload."""
        with self._lock:
            generation = uuid.uuid4().hex
            self._keyword = self._build_keyword(generation)
            self.store.mark(generation)
            self._checked = time.monotonic()
            return self._keyword

    def _build_keyword(self, generation: str) -> BM25Index:
        chunks = list(self.store.iter_all(with_text=True))
        keyword = BM25Index.build(Analyzer(self.keyword_settings.language), chunks, self.keyword_settings)
        keyword.generation = generation
        keyword.save(self.keyword_dir, keyword_identity(self.keyword_settings), generation)
        return keyword


def open_index(settings: IndexSettings, embedder: Embedder | None = None) -> Index:
    """Open (or create) the index the settings describe."""
    embedder = embedder or build_embedder(settings.embedder, settings.paths.models())
    name = index_name(settings.chroma.collection_prefix, embedder.name, embedder.dim, settings.chunking)
    client = open_client(settings.chroma, settings.paths.data_dir)
    return Index(
        name=name,
        embedder=embedder,
        store=ChromaStore(client, name, settings.chroma.widening, settings.chroma.record_cache),
        units=ChromaUnitStore(client, name),
        keyword_dir=settings.paths.data_dir / "keyword" / name,
        keyword_settings=settings.keyword,
        recheck_seconds=settings.chroma.recheck_seconds,
    )
