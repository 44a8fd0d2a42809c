"""Core types of the ingest layer: Document and Chunk."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

DOC_TYPES = ("leitfaden", "checkliste", "vorlage", "sitzung", "verzeichnis", "dokument")
VISIBILITIES = ("public", "internal")
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Document:
    """One source file, normalised to Markdown (headings, lists, page markers)."""

    doc_id: str
    title: str
    doc_type: str
    text: str
    source_path: str
    content_hash: str
    date: str | None = None
    tags: tuple[str, ...] = ()
    visibility: str = "public"
    source_url: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A piece of one section of a document, small enough for the embedder."""

    chunk_id: str
    doc_id: str
    section_path: tuple[str, ...]
    anchor: str
    text: str
    position: int
    page: int | None = None
    tokens: int = 0
    kind: str = "text"  # text | checklist | template

    @property
    def section(self) -> str:
        """The section path as shown to users: 'Title › 3 Datenschutz › 3.2 DSFA'."""
        return " › ".join(self.section_path)

    def embed_text(self) -> str:
        """What the embedder and keyword index see: the section path, then the text."""
        return f"{self.section}\n{self.text}"


@dataclass
class IngestReport:
    """What one ingest run did."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    units_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the vector store, with the document fields it carries.

    Parsed once from the store's flat metadata (`ingest.stores`); everything downstream reads
    these typed fields.
    """

    chunk_id: str
    text: str
    doc_id: str
    title: str = ""
    doc_type: str = "dokument"
    visibility: str = "public"
    section_path: tuple[str, ...] = ()
    anchor: str = ""
    page: int | None = None
    position: int = 0
    kind: str = "text"
    tags: tuple[str, ...] = ()
    date: str = ""
    source_url: str = ""
    sources: tuple[str, ...] = ()
    content_hash: str = ""
    n_chunks: int = 0
    n_units: int = 0  # quotable units whose vectors the unit store holds (`<chunk_id>#<i>`)

    @property
    def section(self) -> str:
        return " › ".join(self.section_path)

    def keyword_text(self) -> str:
        """What BM25 indexes: the section path and the text (as the embedder sees it)."""
        return f"{self.section}\n{self.text}"


class Facets(Protocol):
    """The fields a retrieval filter looks at."""

    @property
    def doc_type(self) -> str: ...
    @property
    def visibility(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class ChunkFacets:
    """The filterable fields of one chunk, as the keyword index keeps them."""

    doc_id: str
    doc_type: str
    visibility: str
    kind: str
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, chunk: StoredChunk) -> ChunkFacets:
        return cls(chunk.doc_id, chunk.doc_type, chunk.visibility, chunk.kind, chunk.tags)


@dataclass(frozen=True)
class Filters:
    """Which chunks may be retrieved; empty fields allow everything. One value, turned into a
    Chroma `where` clause by the vector store and into a mask by the keyword index."""

    doc_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    visibility: tuple[str, ...] = VISIBILITIES
    exclude_kinds: tuple[str, ...] = ("sources",)  # bibliography sections are not evidence

    @property
    def narrows(self) -> bool:
        """False when every chunk passes."""
        return bool(self.exclude_kinds or self.doc_types or self.tags or set(VISIBILITIES) - set(self.visibility))

    def allows(self, chunk: Facets) -> bool:
        return (
            (not self.doc_types or chunk.doc_type in self.doc_types)
            and chunk.kind not in self.exclude_kinds
            and chunk.visibility in self.visibility
            and (not self.tags or any(t in chunk.tags for t in self.tags))
        )


class VectorStore(Protocol):
    """Dense vectors and the stored chunks they belong to (Chroma, embedded or server)."""

    name: str

    def count(self) -> int: ...
    def generation(self) -> str: ...
    def mark(self, generation: str) -> None: ...
    def forget(self) -> None: ...
    def query(self, vector: Vector, k: int, filters: Filters | None = None) -> list[tuple[StoredChunk, float]]: ...
    def get(self, ids: Sequence[str]) -> list[StoredChunk]: ...
    def document(self, doc_id: str) -> list[StoredChunk]: ...
    def opening(self, doc_id: str, section: Sequence[str]) -> StoredChunk | None: ...
    def iter_all(self, with_text: bool = False) -> Iterator[StoredChunk]: ...
    def upsert(self, chunks: Sequence[StoredChunk], vectors: Vector) -> None: ...
    def update_sources(self, chunks: Sequence[StoredChunk], sources: Sequence[str]) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...


class UnitStore(Protocol):
    """Vectors of the quotable units (sentences, items) of every chunk, by `<chunk_id>#<i>`."""

    def upsert(self, ids: Sequence[str], chunk_ids: Sequence[str], vectors: Vector) -> None: ...
    def count(self) -> int: ...
    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]: ...
    def query(self, vector: Vector, k: int) -> list[tuple[str, float]]: ...
    def delete(self, ids: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    score: float


class KeywordIndex(Protocol):
    """Sparse (BM25) search over the same chunks, with the same filters."""

    def __len__(self) -> int: ...
    def search(self, query: str, k: int, filters: Filters | None = None) -> list[KeywordHit]: ...
    def analyze(self, text: str) -> list[str]: ...
    def document_frequency(self, term: str) -> int: ...
