"""How well passage units answer a question: embedding similarity plus key-term overlap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.passages import Passage, Unit, UnitVectors, term_overlap
from assistant.settings import EvidenceSettings
from ingest.keyword import Analyzer


@dataclass(frozen=True)
class ScoredUnit:
    passage: Passage
    unit: Unit
    similarity: float  # cosine(question, unit)
    overlap: float  # share of the question's key terms in the unit
    score: float  # similarity + overlap_weight × overlap


class EvidenceScorer:
    """Scores the units of passages against a question (shared by generation and refusal)."""

    def __init__(self, vectors: UnitVectors, analyzer: Callable[[], Analyzer], settings: EvidenceSettings | None = None) -> None:
        self.vectors = vectors
        self._analyzer = analyzer
        self.overlap_weight = (settings or EvidenceSettings()).overlap_weight

    def terms(self, text: str) -> list[str]:
        """Key terms: stems and compound parts, as the keyword index sees them."""
        return self._analyzer()(text)

    def word_stems(self, text: str) -> set[str]:
        """The stems of a text's whole words (no compound parts: "Bewertungskriterien" is not "Kriterien")."""
        analyzer = self._analyzer()
        return {analyzer.stem(w) for w in analyzer.words(text)}

    def score(self, question_vector: np.ndarray, question: str, passages: list[Passage]) -> list[ScoredUnit]:
        pairs = [(p, u) for p in passages for u in p.units]
        if not pairs:
            return []
        self.vectors.load([p.hit.chunk for p in passages])
        sims = self.vectors([u.text for _, u in pairs]) @ question_vector
        terms = self.terms(question)
        overlaps = [term_overlap(terms, set(self.terms(u.text))) for _, u in pairs]
        return [
            ScoredUnit(p, u, float(s), o, float(s) + self.overlap_weight * o)
            for (p, u), s, o in zip(pairs, sims, overlaps, strict=True)
        ]
