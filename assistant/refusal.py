"""When to refuse: a calibrated decision on evidence that does not depend on the asker using the
corpus' words (how close the best passage and sentence are, how clearly one passage wins,
whether both retrievers agree, what kind of answer the question wants and whether the best
sentence holds one). A logistic model over these features, its weights and threshold written
by `lotse eval tune` into the preset; no number here is set by hand.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.question import ASKS_WHEN, kind_of
from assistant.ranking import Candidates
from assistant.settings import RefusalSettings

_QUANTITY = re.compile(
    r"\b(wie ?viele?|wie hoch|wie gro(?:ß|ss)|wieviel|welche[rn]? (?:betrag|summe|quote|anteil)|how (?:many|much|high|large)"
    r"|anzahl|prozent|quote)\b",
    re.I,
)
_TIME = re.compile(
    r"\b(wann|seit wann|bis wann|in welchem jahr|welche[rsm]? (?:jahr|datum|frist)|what year|since when|from when|until when)\b"
    r"|" + ASKS_WHEN, re.I
)
_PERSON = re.compile(r"\b(wer|wem|wen|who|whom|ansprechpartner\w*|zuständig\w*)\b", re.I)
_NUMBER = re.compile(r"\d")
_YEAR_OR_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)\b|\d{1,2}\.\s?\d{1,2}\.|\b\d{1,2}\.\s?"
    r"(januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember)\b",
    re.I,
)
_NAME = re.compile(r"\b[A-ZÄÖÜ][a-zäöüß]+(?:\s+[A-ZÄÖÜ][a-zäöüß]+)+\b|\b(?:Dr|Prof)\.|\b[A-ZÄÖÜ]{2,}\b")

FEATURES = (
    "top_dense", "max_dense", "dense_margin", "top_sentence", "best_sentence", "top_keyword",
    "agree", "unknown", "unknown_specific", "rare", "top_coverage", "best_coverage", "english", "typed", "type_match",
)


@dataclass(frozen=True)
class Decision:
    refuse: bool
    confidence: float  # the model's probability that the corpus answers the question
    features: dict[str, float]


def answer_type(question: str) -> str:
    """What kind of answer a question wants: quantity, time, person or any."""
    if kind_of(question) == "contact":  # "Wer ist Ansprechpartner für …?" wants an office, not a name
        return "any"
    for name, pattern in (("time", _TIME), ("quantity", _QUANTITY), ("person", _PERSON)):
        if pattern.search(question):
            return name
    return "any"


def type_match(kind: str, text: str) -> bool:
    """Does a sentence hold the kind of answer asked for?"""
    if kind == "time":
        return bool(_YEAR_OR_DATE.search(text))
    if kind == "quantity":
        return bool(_NUMBER.search(text))
    if kind == "person":
        return bool(_NAME.search(text))
    return True


def features(question: str, language: str, c: Candidates, order: np.ndarray, top_n: int = 3) -> dict[str, float]:
    """The evidence for answering, from the fused candidates (`order`: best first)."""
    if not len(order):
        return dict.fromkeys(FEATURES, 0.0) | {"unknown": 1.0}
    top = order[:top_n]
    sentences = c.sentence(top)
    texts = c.sentence.texts(top)
    dense_sorted = np.sort(c.dense[c.dense_rank <= c.depth])[::-1]
    kind = answer_type(question)
    best = int(np.argmax(sentences))
    first = int(order[0])
    return {
        "top_dense": float(c.dense[first]),
        "max_dense": float(dense_sorted[0]) if len(dense_sorted) else 0.0,
        "dense_margin": float(dense_sorted[0] - dense_sorted[1]) if len(dense_sorted) > 1 else 0.0,
        "top_sentence": float(sentences[0]),
        "best_sentence": float(sentences[best]),
        "top_keyword": float(c.keyword[first]),
        "agree": float(c.dense_rank[first] <= 3 and c.keyword_rank[first] <= 3),
        "unknown": c.profile.unknown,
        "unknown_specific": c.profile.unknown_specific,
        "top_coverage": float(c.coverage[first]),
        "best_coverage": float(np.max(c.coverage[top])),
        "rare": c.profile.rare,
        "english": float(language == "en"),
        "typed": float(kind != "any"),
        "type_match": float(type_match(kind, texts[best])),
    }


class RefusalPolicy:
    """Decides before generation, so no generator or passage text can talk it out of a refusal."""

    def __init__(self, settings: RefusalSettings) -> None:
        self.settings = settings

    def confidence(self, values: dict[str, float]) -> float:
        z = self.settings.bias + sum(w * values.get(f, 0.0) for f, w in self.settings.weights.items())
        return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))

    def decide(self, question: str, language: str, c: Candidates | None, order: Sequence[int] | np.ndarray) -> Decision:
        if c is None or not len(order):
            return Decision(True, 0.0, {})
        values = features(question, language, c, np.asarray(order), self.settings.top_passages)
        p = self.confidence(values)
        floor = self.settings.min_best_sentence_en if language == "en" else self.settings.min_best_sentence
        too_far = values["best_sentence"] < floor  # no answerable question was this far from the corpus
        return Decision(too_far or p < self.settings.threshold, p, values)
