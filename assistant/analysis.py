"""How the reader, the composer and the citation check see a text: its embedding and its key terms."""

from __future__ import annotations

from collections.abc import Callable

from assistant.passages import UnitVectors
from ingest.keyword import Analyzer


class TextAnalysis:
    """The unit vectors and the key-term analyzer the reader, the composer and the citation check share."""

    def __init__(self, vectors: UnitVectors, analyzer: Callable[[], Analyzer]) -> None:
        self.vectors = vectors
        self._analyzer = analyzer

    def terms(self, text: str) -> list[str]:
        """Key terms: stems and compound parts, as the keyword index sees them."""
        return self._analyzer()(text)

    def word_stems(self, text: str) -> set[str]:
        """The stems of a text's whole words (no compound parts: "Bewertungskriterien" is not "Kriterien")."""
        analyzer = self._analyzer()
        return {analyzer.stem(w) for w in analyzer.words(text)}
