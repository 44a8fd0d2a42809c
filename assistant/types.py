"""Core types of the answer layer: Hit, Citation, Answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.types import StoredChunk


@dataclass
class Hit:
    """A retrieved chunk, its fused score and what each retriever thought of it."""

    chunk: StoredChunk
    score: float
    dense: float | None = None  # cosine similarity, if the dense retriever found it
    keyword: float | None = None  # BM25 score, if the keyword retriever found it
    dense_rank: int | None = None
    keyword_rank: int | None = None

    @property
    def found_by(self) -> tuple[str, ...]:
        return tuple(n for n, r in (("dense", self.dense_rank), ("keyword", self.keyword_rank)) if r is not None)


@dataclass
class Timings:
    """Seconds spent per stage of one answer."""

    embed: float = 0.0
    retrieve: float = 0.0
    generate: float = 0.0
    total: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


@dataclass
class Retrieval:
    """The hits for one question, per retriever and fused."""

    fused: list[Hit]
    dense: list[Hit] = field(default_factory=list)
    keyword: list[Hit] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    vector: Any = None  # the query's embedding, for scoring passages without embedding it again
    candidates: Any = None  # assistant.ranking.Candidates: what the fusion saw (evaluation, refusal)
    order: Any = None  # the candidates' fused order, best first
    profile: Any = None  # assistant.ranking.QueryProfile


@dataclass
class Citation:
    """A numbered source of an answer: the exact section, page and a supporting quote."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    anchor: str
    page: int | None
    url: str
    quote: str
    doc_type: str = ""
    links: list[str] = field(default_factory=list)  # web addresses the cited section gives (a directory entry's)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class Answer:
    """What Lotse says to one question."""

    answer_id: str
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    language: str
    query: str = ""
    timings: Timings = field(default_factory=Timings)
    sources: list[Citation] = field(default_factory=list)  # closest sources shown with a refusal
    notes: list[str] = field(default_factory=list)
    generator: str = "extractive"
    sentences: int = 0  # sentences the citation check looked at
    unsupported: int = 0  # of those, removed or flagged: no cited passage supports them
    invented: int = 0  # citation ids the generator made up (dropped)
    confidence: float = 0.0  # the refusal model's probability that the corpus answers
    ranked: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)  # (doc, section path, chunk) for evaluation

    def as_dict(self) -> dict[str, object]:
        return {
            "answer_id": self.answer_id,
            "question": self.question,
            "text": self.text,
            "citations": [c.as_dict() for c in self.citations],
            "sources": [c.as_dict() for c in self.sources],
            "refused": self.refused,
            "language": self.language,
            "timings": self.timings.as_dict(),
            "notes": self.notes,
            "generator": self.generator,
            "unsupported": self.unsupported,
            "invented": self.invented,
        }
