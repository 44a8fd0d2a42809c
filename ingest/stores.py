"""The vector store seam: one Chroma collection (embedded or server) per index name."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest.errors import ErrorCode, LotseError
from ingest.settings import ChromaSettings, ChunkingSettings
from ingest.types import Chunk, Document

PAGE_SIZE = 2000


def index_name(prefix: str, embedder_name: str, dim: int, chunking: ChunkingSettings) -> str:
    """Name an index by what made its vectors, so different settings never share one."""
    from ingest.chunking import CHUNKER_VERSION
    from ingest.loaders import LOADER_VERSION

    identity = json.dumps(
        {
            "embedder": embedder_name,
            "dim": dim,
            "chunking": chunking.model_dump(),
            "chunker": CHUNKER_VERSION,
            "loader": LOADER_VERSION,
        },
        sort_keys=True,
    )
    return f"{prefix}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def chunk_metadata(chunk: Chunk, doc: Document, sources: Sequence[str], n_chunks: int) -> dict[str, Any]:
    """Flat Chroma metadata of a chunk; it doubles as the ingest manifest."""
    meta: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "doc_type": doc.doc_type,
        "visibility": doc.visibility,
        "date": doc.date or "",
        "tags": "|" + "|".join(doc.tags) + "|",
        "source_url": doc.source_url or "",
        "sources": "\n".join(sources),
        "content_hash": doc.content_hash,
        "n_chunks": n_chunks,
        "section": json.dumps(list(chunk.section_path), ensure_ascii=False),
        "anchor": chunk.anchor,
        "page": chunk.page if chunk.page is not None else -1,
        "position": chunk.position,
        "kind": chunk.kind,
    }
    for tag in doc.tags:
        meta[f"tag_{tag}"] = True
    return meta


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store, with the document fields it carries."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]

    @property
    def doc_id(self) -> str:
        return str(self.metadata["doc_id"])

    @property
    def section_path(self) -> tuple[str, ...]:
        return tuple(json.loads(self.metadata["section"]))

    @property
    def page(self) -> int | None:
        page = int(self.metadata.get("page", -1))
        return page if page >= 0 else None


def open_client(settings: ChromaSettings, data_dir: Path) -> Any:
    """A Chroma client: HttpClient when a host is configured, else PersistentClient on disk."""
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    client_settings = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.host:
            headers = {}
            if settings.token is not None:
                headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
            return chromadb.HttpClient(
                host=settings.host, port=settings.port, ssl=settings.ssl, headers=headers,
                settings=client_settings,
            )
        path = data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=client_settings)
    except Exception as exc:
        where = f"{settings.host}:{settings.port}" if settings.host else str(data_dir / "chroma")
        raise LotseError(
            ErrorCode.INDEX_UNAVAILABLE,
            f"Chroma ist nicht erreichbar ({where}): {type(exc).__name__}",
            f"Chroma is not reachable ({where}): {type(exc).__name__}",
        ) from exc


class ChromaStore:
    """Dense vectors in one Chroma collection; Chroma's own embedding function never runs."""

    def __init__(self, client: Any, name: str) -> None:
        self.name = name
        self._collection = client.get_or_create_collection(
            name=name, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, texts: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        self._collection.upsert(
            ids=list(ids), embeddings=vectors.tolist(), documents=list(texts), metadatas=list(metadatas)
        )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        self._collection.update(ids=list(ids), metadatas=list(metadatas))

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), PAGE_SIZE):
            self._collection.delete(ids=list(ids[start : start + PAGE_SIZE]))

    def count(self) -> int:
        return int(self._collection.count())

    def iter_all(self, with_text: bool = False) -> Iterator[StoredChunk]:
        """Every stored chunk (metadata, and text if asked), page by page."""
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        offset = 0
        while True:
            page = self._collection.get(include=include, limit=PAGE_SIZE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [""] * len(ids)
            for cid, meta, text in zip(ids, page["metadatas"], docs):
                yield StoredChunk(cid, text or "", dict(meta or {}))
            offset += len(ids)

    def document(self, doc_id: str) -> list[StoredChunk]:
        """All chunks of one document in reading order."""
        page = self._collection.get(where={"doc_id": doc_id}, include=["metadatas", "documents"])
        chunks = [StoredChunk(cid, text or "", dict(meta or {})) for cid, meta, text in zip(page["ids"], page["metadatas"], page["documents"])]
        return sorted(chunks, key=lambda c: int(c.metadata.get("position", 0)))

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        page = self._collection.get(ids=list(ids), include=["metadatas", "documents"])
        found = {
            cid: StoredChunk(cid, text or "", dict(meta or {}))
            for cid, meta, text in zip(page["ids"], page["metadatas"], page["documents"])
        }
        return [found[i] for i in ids if i in found]

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks with cosine similarity (1 - distance)."""
        k = min(k, self.count())
        if k <= 0:
            return []
        result = self._collection.query(
            query_embeddings=[vector.tolist()], n_results=k, where=where or None,
            include=["metadatas", "documents", "distances"],
        )
        return [
            (StoredChunk(cid, text or "", dict(meta or {})), 1.0 - float(dist))
            for cid, meta, text, dist in zip(
                result["ids"][0], result["metadatas"][0], result["documents"][0], result["distances"][0]
            )
        ]
