"""Core types of the answer layer: Hit, Citation, Answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.stores import StoredChunk


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
