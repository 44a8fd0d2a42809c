"""One open index: the embedder, the Chroma collection and the keyword index made with them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.embedders import Embedder, build_embedder
from ingest.keyword import Analyzer, KeywordIndex
from ingest.settings import IndexSettings, KeywordSettings
from ingest.stores import ChromaStore, index_name, open_client


def keyword_text(section_path: tuple[str, ...] | list[str], text: str) -> str:
    """What BM25 indexes for a chunk: its section path and its text (as the embedder sees it)."""
    return " › ".join(section_path) + "\n" + text


FILTER_FIELDS = ("doc_id", "doc_type", "visibility", "tags", "title", "kind")


@dataclass
class Index:
    """The dense and keyword halves of one index, named by a hash of how it was made."""

    name: str
    embedder: Embedder
    store: ChromaStore
    keyword_dir: Path
    keyword_settings: KeywordSettings
    _keyword: KeywordIndex | None = field(default=None, repr=False)
    _checked: float = field(default=0.0, repr=False)
    recheck_seconds: float = 5.0

    def keyword(self) -> KeywordIndex:
        """The keyword index, loaded from disk, or rebuilt from Chroma when missing or stale.

        Whether Chroma changed (another process re-ingested) is checked at most every
        `recheck_seconds`, so a query does not pay for a Chroma round trip.
        """
        now = time.monotonic()
        if self._keyword is not None and now - self._checked < self.recheck_seconds:
            return self._keyword
        self._checked = now
        if self._keyword is None or len(self._keyword) != self.store.count():
            loaded = KeywordIndex.load(self.keyword_dir, self.analyzer_identity)
            if loaded is None or len(loaded) != self.store.count():
                loaded = self.rebuild_keyword()
            self._keyword = loaded
        return self._keyword

    def keyword_stale(self) -> bool:
        """True when the saved keyword index is missing or does not match Chroma's chunk count."""
        return KeywordIndex.saved_size(self.keyword_dir, self.analyzer_identity) != self.store.count()

    @property
    def analyzer_identity(self) -> str:
        return Analyzer(self.keyword_settings.language, frozenset() if self.keyword_settings.decompound else None).identity

    def rebuild_keyword(self) -> KeywordIndex:
        """Build BM25 from every chunk in Chroma and save it (atomically)."""
        import json

        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for stored in self.store.iter_all(with_text=True):
            ids.append(stored.chunk_id)
            texts.append(keyword_text(json.loads(stored.metadata["section"]), stored.text))
            metas.append({k: stored.metadata.get(k, "") for k in FILTER_FIELDS})
        analyzer = Analyzer(self.keyword_settings.language)
        keyword = KeywordIndex.build(analyzer, ids, texts, metas, decompound=self.keyword_settings.decompound)
        keyword.save(self.keyword_dir)
        self._keyword = keyword
        self._checked = time.monotonic()
        return keyword


def open_index(settings: IndexSettings, embedder: Embedder | None = None) -> Index:
    """Open (or create) the index the settings describe."""
    embedder = embedder or build_embedder(settings.embedder, settings.paths.models())
    name = index_name(settings.chroma.collection_prefix, embedder.name, embedder.dim, settings.chunking)
    client = open_client(settings.chroma, settings.paths.data_dir)
    return Index(
        name=name,
        embedder=embedder,
        store=ChromaStore(client, name),
        keyword_dir=settings.paths.data_dir / "keyword" / name,
        keyword_settings=settings.keyword,
    )
