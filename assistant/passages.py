"""Passages handed to generators, split into quotable units (sentences, list items, blocks)."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.types import Hit
from ingest.chunking import split_sentences
from ingest.embedders import Embedder


def clean_markdown(text: str) -> str:
    """Text as shown to people: no emphasis markers, checkboxes or quote marks, one line."""
    text = re.sub(r"^\s*[-*+]\s+\[[ xX]\]\s+", "", text, flags=re.M)
    text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.M)
    text = re.sub(r"^\s*>\s?", "", text, flags=re.M)
    text = re.sub(r"\*\*|__", "", text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"\1", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Unit:
    """One quotable piece of a passage."""

    kind: str  # sentence | item | block
    text: str  # cleaned for display
    position: int


@dataclass
class Passage:
    """A numbered passage: the hit it comes from and its units."""

    n: int
    hit: Hit
    units: list[Unit]

    @property
    def kind(self) -> str:
        return self.hit.chunk.kind


def split_units(text: str) -> list[Unit]:
    units: list[Unit] = []
    for block in re.split(r"\n\s*\n", text):
        stripped = block.strip()
        if not stripped:
            continue
        if re.match(r"^\s*[-*+]\s|^\s*\d{1,3}[.)]\s", stripped):
            units.append(Unit("item", clean_markdown(stripped), len(units)))
        elif stripped.startswith(">"):
            units.append(Unit("block", clean_markdown(stripped), len(units)))
        elif stripped.startswith("|"):
            units.append(Unit("item", clean_markdown(stripped.replace("|", " ")), len(units)))
        else:
            for sentence in split_sentences(clean_markdown(stripped)):
                if len(sentence) > 3:
                    units.append(Unit("sentence", sentence, len(units)))
    return units


def make_passages(hits: Sequence[Hit]) -> list[Passage]:
    return [Passage(n, hit, split_units(hit.chunk.text)) for n, hit in enumerate(hits, 1)]


class UnitVectors:
    """Embeddings of short texts (passage role), cached per process."""

    def __init__(self, embedder: Embedder, size: int = 20000) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.embedder.embed_passages(missing)):
                self._cache[text] = vector
                if len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        for text in texts:
            self._cache.move_to_end(text)
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.vstack([self._cache[t] for t in texts])


def term_overlap(terms: Sequence[str], text_terms: set[str]) -> float:
    """Share of `terms` (analysed) found in `text_terms`."""
    unique = set(terms)
    return len(unique & text_terms) / len(unique) if unique else 0.0
