"""The vector store seam: one Chroma collection (embedded or server) per index name."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import string
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ingest.errors import configuration_error, index_unavailable
from ingest.settings import ChromaSettings, ChunkingSettings
from ingest.types import VISIBILITIES, Filters, StoredChunk, Vector

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Include

PAGE_SIZE = 2000
GENERATION = "lotse_generation"  # collection metadata key: the stamp of the last completed ingest
PROBE_TIMEOUT = 10.0  # seconds for the start-up check of a Chroma server
# Chroma's default HNSW search (ef 100, 16 neighbours) missed a true nearest neighbour now and
# then, and a collection under its sync threshold (1,000 records) gets a new random graph on
# every start: the same question was ranked differently from run to run. A wider graph and
# search make the ranking exact in practice at the sizes Lotse serves (bench/scale.py).
HNSW: dict[str, Any] = {"space": "cosine", "ef_construction": 200, "ef_search": 200, "max_neighbors": 32}

log = logging.getLogger(__name__)


def index_name(prefix: str, embedder_name: str, dim: int, chunking: ChunkingSettings) -> str:
    """Name an index by what made its vectors, so different settings never share one."""
    from ingest.chunking import CHUNKER_VERSION
    from ingest.loaders import LOADER_VERSION
    from ingest.units import UNITS_VERSION

    identity = json.dumps(
        {
            "embedder": embedder_name,
            "dim": dim,
            "chunking": chunking.model_dump(),
            "chunker": CHUNKER_VERSION,
            "loader": LOADER_VERSION,
            "units": UNITS_VERSION,
            "hnsw": HNSW,
        },
        sort_keys=True,
    )
    return f"{prefix}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def to_metadata(chunk: StoredChunk) -> dict[str, str | int | bool]:
    """Flat Chroma metadata of a chunk; it doubles as the ingest manifest."""
    meta: dict[str, str | int | bool] = {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "doc_type": chunk.doc_type,
        "visibility": chunk.visibility,
        "date": chunk.date,
        "tags": "|" + "|".join(chunk.tags) + "|",
        "source_url": chunk.source_url,
        "sources": "\n".join(chunk.sources),
        "content_hash": chunk.content_hash,
        "n_chunks": chunk.n_chunks,
        "n_units": chunk.n_units,
        "section": json.dumps(list(chunk.section_path), ensure_ascii=False),
        "anchor": chunk.anchor,
        "page": chunk.page if chunk.page is not None else -1,
        "position": chunk.position,
        "kind": chunk.kind,
    }
    for tag in chunk.tags:
        meta[f"tag_{tag}"] = True
    return meta


def from_metadata(chunk_id: str, text: str | None, meta: Mapping[str, Any] | None) -> StoredChunk:
    """The typed record of a stored chunk (the inverse of `to_metadata`)."""
    m = dict(meta or {})
    page = int(m.get("page", -1))
    return StoredChunk(
        chunk_id=chunk_id,
        text=text or "",
        doc_id=str(m.get("doc_id", "")),
        title=str(m.get("title", "")),
        doc_type=str(m.get("doc_type", "dokument")),
        visibility=str(m.get("visibility", "public")),
        section_path=tuple(json.loads(str(m.get("section") or "[]"))),
        anchor=str(m.get("anchor", "")),
        page=page if page >= 0 else None,
        position=int(m.get("position", 0)),
        kind=str(m.get("kind", "text")),
        tags=tuple(t for t in str(m.get("tags", "")).split("|") if t),
        date=str(m.get("date", "")),
        source_url=str(m.get("source_url", "")),
        sources=tuple(s for s in str(m.get("sources", "")).split("\n") if s),
        content_hash=str(m.get("content_hash", "")),
        n_chunks=int(m.get("n_chunks", 0)),
        n_units=int(m.get("n_units", 0)),
    )


def where_clause(filters: Filters) -> dict[str, Any] | None:
    """A filter as a Chroma `where` clause (None: no filter)."""
    clauses: list[dict[str, Any]] = []
    if filters.exclude_kinds:
        clauses.append({"kind": {"$nin": list(filters.exclude_kinds)}})
    if filters.doc_types:
        clauses.append({"doc_type": {"$in": list(filters.doc_types)}})
    if set(VISIBILITIES) - set(filters.visibility):
        clauses.append({"visibility": {"$in": list(filters.visibility)}})
    if filters.tags:
        tag_clauses: list[dict[str, Any]] = [{f"tag_{t}": True} for t in filters.tags]
        clauses.append(tag_clauses[0] if len(tag_clauses) == 1 else {"$or": tag_clauses})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def open_client(settings: ChromaSettings, data_dir: Path) -> Any:
    """A Chroma client: HttpClient when a host is configured, else PersistentClient on disk.

    A server is checked before the client is made, with one authenticated call, so a wrong
    or missing token stops the start with a clear message instead of failing at the first
    question. The token never appears in messages or logs.
    """
    if settings.host:
        return _open_server(settings)
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    path = data_dir / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        settings_ = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)
        return chromadb.PersistentClient(path=str(path), settings=settings_)
    except Exception as exc:
        raise index_unavailable(f"Chroma {path}: {type(exc).__name__}") from exc


# a data route (not heartbeat/version, which auth proxies often leave open) that any token check covers
_PROBE = "/tenants/default_tenant/databases/default_database/collections_count"
# what chromadb's TokenAuthClientProvider accepts (it sends `Authorization: Bearer <token>`)
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + string.punctuation)


def _server_name(settings: ChromaSettings) -> str:
    host = str(settings.host)
    return host if host.startswith("http") else f"{host}:{settings.port}"


def _probe(api_url: str, token: str | None, where: str) -> int:
    """The HTTP status of one cheap authenticated call (raises when the server is unreachable)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        return httpx.get(api_url + _PROBE, headers=headers, timeout=PROBE_TIMEOUT).status_code
    except httpx.HTTPError as exc:
        raise index_unavailable(f"Chroma-Server {where}: {type(exc).__name__}") from exc


def _open_server(settings: ChromaSettings) -> Any:
    import chromadb
    from chromadb.api.base_http_client import BaseHTTPClient
    from chromadb.config import Settings as ChromaClientSettings

    where = _server_name(settings)
    token = settings.token.get_secret_value() if settings.token is not None else None
    if token is not None and (not token or not set(token) <= _TOKEN_CHARS):
        raise configuration_error(
            "LOTSE_CHROMA__TOKEN ist ungültig: erlaubt sind nur ASCII-Buchstaben, Ziffern und Satzzeichen (keine Leerzeichen).",
            "LOTSE_CHROMA__TOKEN is invalid: only ASCII letters, digits and punctuation are allowed (no spaces).",
        )
    try:
        api_url = BaseHTTPClient.resolve_url(settings.host or "", settings.ssl, "/api/v2", settings.port)
    except ValueError:
        raise configuration_error(f"Ungültige Chroma-Server-Adresse: {settings.host}",
                                  f"Invalid Chroma server address: {settings.host}") from None
    status = _probe(api_url, token, where)
    if status in (401, 403) and token is None:
        raise configuration_error(
            f"Der Chroma-Server {where} verlangt ein Token (HTTP {status}). Bitte LOTSE_CHROMA__TOKEN setzen.",
            f"The Chroma server {where} requires a token (HTTP {status}). Please set LOTSE_CHROMA__TOKEN.",
        )
    if status in (401, 403):
        raise configuration_error(
            f"Der Chroma-Server {where} hat das Token abgelehnt (HTTP {status}). Bitte LOTSE_CHROMA__TOKEN prüfen.",
            f"The Chroma server {where} rejected the token (HTTP {status}). Please check LOTSE_CHROMA__TOKEN.",
        )
    if status >= 400:
        raise index_unavailable(f"Chroma-Server {where}: HTTP {status}")
    if token is not None and _probe(api_url, None, where) < 400:
        log.warning(
            "Der Chroma-Server %s prüft kein Token: LOTSE_CHROMA__TOKEN schützt ihn nicht "
            "(chroma run 1.x hat keine eigene Anmeldung; einen Proxy davorschalten, der das Token prüft).", where,
        )
    auth: dict[str, Any] = {}
    if token is not None:
        auth = {"chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
                "chroma_client_auth_credentials": token}
    client_settings = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False, **auth)
    try:
        # the client asks the server who it is and checks tenant and database on creation
        return chromadb.HttpClient(host=settings.host or "", port=settings.port, ssl=settings.ssl, settings=client_settings)
    except Exception as exc:
        raise index_unavailable(f"Chroma-Server {where}: {type(exc).__name__}") from exc


class ChromaStore:
    """Dense vectors in one Chroma collection; Chroma's own embedding function never runs.

    Filters are applied to a wider unfiltered query first: Chroma's metadata pre-filter is
    slow on large collections (177 ms vs 4 ms at 100k chunks); only a narrow filter that
    leaves too few falls back to Chroma's `where`.
    """

    def __init__(self, client: Any, name: str, widening: int = 3, record_cache: int = 20000) -> None:
        self.name = name
        self.widening = widening
        self._client = client
        self._collection: Collection = client.get_or_create_collection(
            name=name, embedding_function=None, configuration={"hnsw": HNSW}
        )
        self._records: OrderedDict[str, StoredChunk] = OrderedDict()
        self._outlines: dict[str, list[tuple[tuple[str, ...], str]]] = {}  # doc_id -> (section path, chunk id) in order
        self._record_cache = record_cache
        self._lock = threading.Lock()

    def generation(self) -> str:
        """The stamp the last completed ingest left on the collection ("" before any)."""
        metadata = self._client.get_collection(self.name).metadata or {}
        return str(metadata.get(GENERATION, ""))

    def mark(self, generation: str) -> None:
        """Stamp the collection: readers see that its content changed."""
        self._collection.modify(metadata={GENERATION: generation})

    def forget(self) -> None:
        """Drop the cached chunk records (after the collection changed)."""
        with self._lock:
            self._records.clear()
            self._outlines.clear()

    def upsert(self, chunks: Sequence[StoredChunk], vectors: Vector) -> None:
        self._drop([c.chunk_id for c in chunks])
        self._collection.upsert(
            ids=[c.chunk_id for c in chunks],
            embeddings=vectors.tolist(),
            documents=[c.text for c in chunks],
            metadatas=[to_metadata(c) for c in chunks],
        )

    def update_sources(self, chunks: Sequence[StoredChunk], sources: Sequence[str]) -> None:
        """Record that these chunks' content now comes from `sources` (no re-embedding)."""
        updated = [dataclasses.replace(c, sources=tuple(sources)) for c in chunks]
        self._drop([c.chunk_id for c in updated])
        self._collection.update(ids=[c.chunk_id for c in updated], metadatas=[to_metadata(c) for c in updated])

    def delete(self, ids: Sequence[str]) -> None:
        self._drop(ids)
        for start in range(0, len(ids), PAGE_SIZE):
            self._collection.delete(ids=list(ids[start : start + PAGE_SIZE]))

    def _drop(self, ids: Sequence[str]) -> None:
        with self._lock:
            for i in ids:
                self._records.pop(i, None)
            self._outlines.clear()

    def count(self) -> int:
        return int(self._collection.count())

    def iter_all(self, with_text: bool = False) -> Iterator[StoredChunk]:
        """Every stored chunk (metadata, and text if asked), page by page."""
        include: Include = ["metadatas", "documents"] if with_text else ["metadatas"]
        offset = 0
        while True:
            page = self._collection.get(include=include, limit=PAGE_SIZE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [""] * len(ids)
            yield from (from_metadata(cid, text, meta) for cid, meta, text in zip(ids, page["metadatas"] or [], docs, strict=False))
            offset += len(ids)

    def document(self, doc_id: str) -> list[StoredChunk]:
        """All chunks of one document in reading order."""
        page = self._collection.get(where={"doc_id": doc_id}, include=["metadatas", "documents"])
        chunks = [
            from_metadata(cid, text, meta)
            for cid, meta, text in zip(page["ids"], page["metadatas"] or [], page["documents"] or [], strict=False)
        ]
        return sorted(chunks, key=lambda c: c.position)

    def opening(self, doc_id: str, section: Sequence[str]) -> StoredChunk | None:
        """The first chunk of a section (its path a prefix of the chunk's path), in reading order;
        each document's outline is read once and cached until `forget`."""
        with self._lock:
            outline = self._outlines.get(doc_id)
        if outline is None:
            page = self._collection.get(where={"doc_id": doc_id}, include=["metadatas"])
            records = [from_metadata(cid, "", meta) for cid, meta in zip(page["ids"], page["metadatas"] or [], strict=False)]
            outline = [(c.section_path, c.chunk_id) for c in sorted(records, key=lambda c: c.position)]
            with self._lock:
                self._outlines[doc_id] = outline
        first = next((cid for path, cid in outline if tuple(path[: len(section)]) == tuple(section)), None)
        return next(iter(self.get([first])), None) if first is not None else None

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        """The stored chunks of these ids (missing ids are left out); records are cached until
        `forget`, since a query asks for the same few hundred chunks again and again."""
        with self._lock:
            found = {i: self._records[i] for i in ids if i in self._records}
            for i in found:
                self._records.move_to_end(i)
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            page = self._collection.get(ids=missing, include=["metadatas", "documents"])
            fetched = {
                cid: from_metadata(cid, text, meta)
                for cid, meta, text in zip(page["ids"], page["metadatas"] or [], page["documents"] or [], strict=False)
            }
            found.update(fetched)
            with self._lock:
                self._records.update(fetched)
                while len(self._records) > self._record_cache:
                    self._records.popitem(last=False)
        return [found[i] for i in ids if i in found]

    def query(self, vector: Vector, k: int, filters: Filters | None = None) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks passing the filters, with cosine similarity (1 - distance)."""
        if filters is None or not filters.narrows:
            return self._nearest(vector, k, None)
        wide = self._nearest(vector, k * self.widening, None)
        kept = [(chunk, score) for chunk, score in wide if filters.allows(chunk)]
        if len(kept) >= k or len(wide) < k * self.widening:
            return kept[:k]
        return self._nearest(vector, k, where_clause(filters))

    def _nearest(self, vector: Vector, k: int, where: dict[str, Any] | None) -> list[tuple[StoredChunk, float]]:
        if k <= 0:
            return []
        # distances only: the records come from `get` (cached), which is 4x cheaper than
        # having Chroma load metadata and documents with every query
        result = self._collection.query(query_embeddings=[vector.tolist()], n_results=k, where=where, include=["distances"])
        ids, distances = result["ids"][0], (result["distances"] or [[]])[0]
        records = {c.chunk_id: c for c in self.get(ids)}
        return [(records[cid], 1.0 - float(dist)) for cid, dist in zip(ids, distances, strict=False) if cid in records]


class ChromaUnitStore:
    """Unit vectors in a second Chroma collection beside the chunks (`<index name>-units`)."""

    def __init__(self, client: Any, name: str) -> None:
        self._collection: Collection = client.get_or_create_collection(
            name=f"{name}-units", embedding_function=None, configuration={"hnsw": HNSW}
        )

    def upsert(self, ids: Sequence[str], chunk_ids: Sequence[str], vectors: Vector) -> None:
        for start in range(0, len(ids), PAGE_SIZE):
            end = start + PAGE_SIZE
            metas: list[Any] = [{"chunk_id": c} for c in chunk_ids[start:end]]
            self._collection.upsert(ids=list(ids[start:end]), embeddings=vectors[start:end].tolist(), metadatas=metas)

    def count(self) -> int:
        return int(self._collection.count())

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors of these unit ids (missing ids are left out)."""
        if not ids:
            return {}
        page = self._collection.get(ids=list(ids), include=["embeddings"])
        embeddings = page.get("embeddings")
        if embeddings is None:
            return {}
        return {uid: np.asarray(v, dtype=np.float32) for uid, v in zip(page["ids"], embeddings, strict=True)}

    def query(self, vector: Vector, k: int) -> list[tuple[str, float]]:
        """The k units nearest to a query vector: (unit id, cosine similarity)."""
        k = min(k, int(self._collection.count()))
        if k <= 0:
            return []
        result = self._collection.query(query_embeddings=[vector.tolist()], n_results=k, include=["distances"])
        return [(uid, 1.0 - float(d)) for uid, d in zip(result["ids"][0], (result["distances"] or [[]])[0], strict=False)]

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), PAGE_SIZE):
            self._collection.delete(ids=list(ids[start : start + PAGE_SIZE]))
