"""Core types of the ingest layer: Document and Chunk."""

from __future__ import annotations

from dataclasses import dataclass, field

DOC_TYPES = ("leitfaden", "checkliste", "vorlage", "sitzung", "verzeichnis", "dokument")
VISIBILITIES = ("public", "internal")


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
    chunks_total: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed
