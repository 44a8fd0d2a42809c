"""How well each unit of the passages answers one part of a question: a linear score over
features of the unit (similarity, key terms, form, position …) and of its passage (rank,
dense and fused retrieval scores), with weights learned on the own dev split by
`lotse eval tune` (eval/reader_tune.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.analysis import TextAnalysis
from assistant.generation import AskVector
from assistant.passages import Passage, Unit, term_overlap
from assistant.question import Kind, asked_words, asks_frequency
from assistant.refusal import type_match
from assistant.settings import UNIT_FEATURES
from assistant.types import Hit

_CONDITION = re.compile(
    r"\b(wenn|sofern|falls|nur|sobald|bei|pflicht|muss|müssen|erforderlich|nicht|kein\w*|if|only|must|required|not)\b", re.I
)
_FREQUENCY = re.compile(
    r"\b(?:(?:halb|viertel)?jährlich|monatlich|wöchentlich|täglich|quartalsweise|\w*(?:jahres|monats)rhythmus|\w*turnus|"
    r"alle \w+ (?:jahre|monate|wochen|tage)|\w+mal (?:im|pro|je) (?:jahr|monat|quartal|woche)|"
    r"annually|yearly|monthly|weekly|daily|every \w+ (?:years?|months?|weeks?))\b", re.I
)
_DEFINES = re.compile(r"\b(ist|sind|bezeichnet|versteht|definiert|bedeutet|meint|is|are|means|refers)\b", re.I)


@dataclass(frozen=True)
class Units:
    """Every unit of the passages with its feature row (columns: UNIT_FEATURES)."""

    pairs: list[tuple[Passage, Unit]]
    matrix: np.ndarray


def fits(kind: Kind, passage: Passage, unit: Unit, frequency: bool = False) -> float:
    """How well a unit's form fits the kind of answer asked for (0 or 1); "how often" is
    answered by a frequency ("jährlich", "im Fünfjahresrhythmus"), not a date."""
    if frequency:
        return float(bool(_FREQUENCY.search(unit.text)))
    if kind in ("quantity", "time", "person"):
        return float(type_match(kind, unit.text))
    if kind == "list":
        return float(unit.kind == "item")
    if kind == "template":
        return float(unit.kind == "block")
    if kind == "contact":
        return float(passage.hit.chunk.doc_type == "verzeichnis")
    if kind == "yesno":
        return float(bool(_CONDITION.search(unit.text)))
    if kind == "definition":
        return float(bool(_DEFINES.search(unit.text)))
    return 0.0


def weight_vector(weights: Mapping[str, float]) -> np.ndarray:
    return np.array([weights.get(f, 0.0) for f in UNIT_FEATURES])


class Reader:
    """Scores units for one part of a question (shared by the composer and its tuning)."""

    def __init__(self, analysis: TextAnalysis, unit_weights: Mapping[str, float]) -> None:
        self.analysis = analysis
        self.weights = weight_vector(unit_weights)

    def units(self, ask: AskVector, passages: Sequence[Passage]) -> Units:
        pairs = [(p, u) for p in passages for u in p.units]
        if not pairs:
            return Units([], np.zeros((0, len(UNIT_FEATURES))))
        self.analysis.vectors.load([p.hit.chunk for p in passages])
        sims = self.analysis.vectors([u.text for _, u in pairs]) @ ask.vector
        terms = self.analysis.terms(ask.text)
        named = self.analysis.terms(" ".join(asked_words(ask.text)))
        asked = named or terms
        headings = {p.n: set(self.analysis.terms(p.hit.chunk.section_path[-1])) for p in passages}
        hits = {p.n: self._hit(ask, p) for p in passages}
        frequency = ask.kind == "time" and asks_frequency(ask.text)
        known = [h.dense for h in hits.values() if h is not None and h.dense is not None]
        floor = min(known) if known else 0.0  # a passage only the keyword retriever (or another part) found
        low = min((h.score for h in hits.values() if h is not None), default=0.0)
        rows = []
        for (p, u), sim in zip(pairs, sims, strict=True):
            i = u.position
            hit = hits[p.n]
            own = set(self.analysis.terms(u.text))
            heading = max(term_overlap(terms, headings[p.n]), term_overlap(asked, headings[p.n]))
            rows.append((
                float(sim), term_overlap(terms, own), term_overlap(named, own), heading, fits(ask.kind, p, u, frequency), p.n - 1,
                hit.dense if hit is not None and hit.dense is not None else floor, hit.score if hit is not None else low,
                float(u.kind == "item"), float(i == 0),
                i / len(p.units), min(len(u.text.split()), 80) / 80, float(bool(re.search(r"\d", u.text))),
                float(u.text.rstrip().endswith(":")),
            ))
        return Units(pairs, np.array(rows, dtype=float))

    @staticmethod
    def _hit(ask: AskVector, passage: Passage) -> Hit | None:
        """How the retriever found a passage for this part: by the part's own search, if it had one."""
        return passage.hit if ask.found is None else ask.found.get(passage.hit.chunk.chunk_id)

    def score(self, units: Units) -> np.ndarray:
        return units.matrix @ self.weights if len(units.pairs) else np.zeros(0)
