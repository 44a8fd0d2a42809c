"""The `Generator` seam: what a generator gets (GenerationRequest) and gives (Draft)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from assistant.conversation import Turn
from assistant.passages import Passage
from assistant.question import Kind
from assistant.types import Hit
from ingest.types import Vector

REFUSAL_TOKEN = "KEINE_ANTWORT"


@dataclass(frozen=True)
class AskVector:
    """One part of the question, its kind of answer and its embedding; for a part of a question
    that asks several things, also what its own retrieval found (chunk id -> hit)."""

    text: str
    kind: Kind
    vector: Vector
    found: Mapping[str, Hit] | None = None


@dataclass
class GenerationRequest:
    """What a generator gets: the question and its parts, language, numbered passages, the conversation."""

    question: str
    language: str
    passages: list[Passage]
    asks: list[AskVector]
    history: Sequence[Turn] = ()


@dataclass
class Draft:
    """A generator's answer before the citation check: sentences with [n] markers."""

    text: str
    refused: bool = False
    notes: list[str] = field(default_factory=list)
    generator: str = "extractive"
    lead: str = ""  # a lead-in that states no fact and needs no citation (e.g. a template's source)


class Generator(Protocol):
    """Writes an answer with [n] markers from numbered passages."""

    name: str

    def generate(self, request: GenerationRequest) -> Draft: ...

    def stream(self, request: GenerationRequest) -> Iterator[str | Draft]:
        """Yield the answer text in pieces as it is written, then the complete Draft."""
        ...
