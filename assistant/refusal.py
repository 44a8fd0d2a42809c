"""When to refuse: the evidence for an answer is too weak, or the question asks about something
the corpus does not know. Thresholds are calibrated on the question set (bench/calibrate.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.settings import RefusalSettings
from assistant.types import Hit
from ingest.keyword import BM25Index


@dataclass(frozen=True)
class Decision:
    refuse: bool
    evidence: float
    uncovered: float  # IDF share of question terms the corpus lacks minus the share the passages hold


def coverage(query: str, hits: Sequence[Hit], keyword: BM25Index, top: int = 3) -> float:
    """IDF-weighted (unknown terms) − (terms found in the top passages), in [-1, 1]."""
    analyze = keyword.analyzer
    terms = list(dict.fromkeys(analyze(query)))
    weights = {t: keyword.idf(t) for t in terms}
    total = sum(weights.values())
    if not terms or total <= 0:
        return 0.0
    found: set[str] = set()
    for hit in hits[:top]:
        found.update(analyze(" ".join(hit.chunk.section_path) + "\n" + hit.chunk.text))
    unknown = sum(w for t, w in weights.items() if keyword.document_frequency(t) == 0)
    covered = sum(w for t, w in weights.items() if t in found)
    return (unknown - covered) / total


class RefusalPolicy:
    """Decides before generation, so no generator or passage text can talk it out of a refusal."""

    def __init__(self, settings: RefusalSettings) -> None:
        self.settings = settings

    def decide(self, language: str, query: str, hits: Sequence[Hit], evidence: float, keyword: BM25Index) -> Decision:
        uncovered = coverage(query, hits, keyword, self.settings.top_passages)
        if not hits or evidence < self.settings.min_evidence:
            return Decision(True, evidence, uncovered)
        if language == "en":
            return Decision(evidence < self.settings.min_evidence_en, evidence, uncovered)
        return Decision(uncovered >= self.settings.max_uncovered, evidence, uncovered)
