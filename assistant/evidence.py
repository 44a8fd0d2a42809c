"""How well passage units answer a question: embedding similarity plus key-term overlap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.passages import Passage, Unit, UnitVectors, term_overlap
from ingest.keyword import Analyzer

OVERLAP_WEIGHT = 0.15


@dataclass(frozen=True)
class ScoredUnit:
    passage: Passage
    unit: Unit
    similarity: float  # cosine(question, unit)
    overlap: float  # share of the question's key terms in the unit

    @property
    def score(self) -> float:
        return self.similarity + OVERLAP_WEIGHT * self.overlap


class EvidenceScorer:
    """Scores the units of passages against a question (shared by generation and refusal)."""

    def __init__(self, vectors: UnitVectors, analyzer: Callable[[], Analyzer]) -> None:
        self.vectors = vectors
        self._analyzer = analyzer

    def terms(self, text: str) -> list[str]:
        """Key terms: stems and compound parts, as the keyword index sees them."""
        return self._analyzer()(text)

    def score(self, question_vector: np.ndarray, question: str, passages: list[Passage]) -> list[ScoredUnit]:
        pairs = [(p, u) for p in passages for u in p.units]
        if not pairs:
            return []
        sims = self.vectors([u.text for _, u in pairs]) @ question_vector
        terms = self.terms(question)
        return [
            ScoredUnit(p, u, float(s), term_overlap(terms, set(self.terms(u.text))))
            for (p, u), s in zip(pairs, sims)
        ]
