"""One open index: the embedder, the vector store and the keyword index made with them."""

from __future__ import annotations

import threading
import time
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
        """The keyword index, loaded from disk, or rebuilt from the store when missing or stale.

        Whether the store changed (another process re-ingested) is checked at most every
        `recheck_seconds`, so a query does not pay for a store round trip.
        """
        now = time.monotonic()
        if self._keyword is not None and now - self._checked < self.recheck_seconds:
            return self._keyword
        with self._lock:
            self._checked = now
            size = self.store.count()
            if self._keyword is None or len(self._keyword) != size:
                loaded = BM25Index.load(self.keyword_dir, self.keyword_settings)
                self._keyword = loaded if loaded is not None and len(loaded) == size else self._build_keyword()
            return self._keyword

    def keyword_stale(self) -> bool:
        """True when the saved keyword index is missing or does not match the store's chunk count."""
        saved = BM25Index.saved_size(self.keyword_dir, keyword_identity(self.keyword_settings))
        return saved != self.store.count()

    def rebuild_keyword(self) -> BM25Index:
        """Build BM25 from every chunk in the store and save it (atomically)."""
        with self._lock:
            self._keyword = self._build_keyword()
            self._checked = time.monotonic()
            return self._keyword

    def _build_keyword(self) -> BM25Index:
        chunks = list(self.store.iter_all(with_text=True))
        keyword = BM25Index.build(Analyzer(self.keyword_settings.language), chunks, self.keyword_settings)
        keyword.save(self.keyword_dir, keyword_identity(self.keyword_settings))
        return keyword


def open_index(settings: IndexSettings, embedder: Embedder | None = None) -> Index:
    """Open (or create) the index the settings describe."""
    embedder = embedder or build_embedder(settings.embedder, settings.paths.models())
    name = index_name(settings.chroma.collection_prefix, embedder.name, embedder.dim, settings.chunking)
    client = open_client(settings.chroma, settings.paths.data_dir)
    return Index(
        name=name,
        embedder=embedder,
        store=ChromaStore(client, name, settings.chroma.widening),
        units=ChromaUnitStore(client, name),
        keyword_dir=settings.paths.data_dir / "keyword" / name,
        keyword_settings=settings.keyword,
        recheck_seconds=settings.chroma.recheck_seconds,
    )
