"""Fusion strategies and the second stage against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.ranking import Candidates, QueryProfile, fuse, profile
from assistant.settings import RetrievalSettings
from ingest.keyword import Analyzer, BM25Index
from ingest.settings import KeywordSettings
from ingest.types import StoredChunk


def candidates(rare: float = 0.0, numeric: bool = False, sentence: list[float] | None = None) -> Candidates:
    # a: dense 1st (0.90), keyword 2nd (0.2); b: dense 2nd (0.85), no keyword; c: keyword 1st (0.8), dense floor
    sent = np.array(sentence or [0.0, 0.0, 0.0])
    return Candidates(
        ids=["a", "b", "c"],
        dense=np.array([0.90, 0.85, 0.85]),
        keyword=np.array([0.2, 0.0, 0.8]),
        expanded=np.zeros(3),
        coverage=np.zeros(3),
        heading=np.zeros(3),
        dense_rank=np.array([1.0, 2.0, 41.0]),
        keyword_rank=np.array([2.0, 41.0, 1.0]),
        depth=40,
        profile=QueryProfile(terms=3, unknown=0.0, unknown_specific=0.0, rare=rare, numeric=numeric, max_bm25=10.0),
        sentence=lambda idx: sent[idx],
    )


def ids(c: Candidates, s: RetrievalSettings, language: str = "de") -> list[str]:
    order, _ = fuse(c, s, language)
    return [c.ids[i] for i in order]


def test_weighted_rrf_by_hand() -> None:
    s = RetrievalSettings(fusion="rrf", dense_weight=1.0, keyword_weight=0.5, rrf_k=5, sentence_weight=0)
    _, scores = fuse(candidates(), s)
    assert scores[0] == pytest.approx(1 / 6 + 0.5 / 7) and scores[1] == pytest.approx(1 / 7)
    assert scores[2] == pytest.approx(0.5 / 6)  # absent from the dense list: no dense share
    assert ids(candidates(), s) == ["a", "b", "c"]


def test_convex_mix_and_english_weight() -> None:
    s = RetrievalSettings(fusion="convex", keyword_weight=0.1, keyword_weight_en=0.0, sentence_weight=0)
    _, scores = fuse(candidates(), s)
    assert scores.tolist() == pytest.approx([0.92, 0.85, 0.93])
    assert ids(candidates(), s) == ["c", "a", "b"]
    assert ids(candidates(), s, "en") == ["a", "b", "c"]


def test_adaptive_weight_grows_with_rare_terms_and_numbers() -> None:
    s = RetrievalSettings(fusion="adaptive", keyword_weight=0.0, keyword_rare_weight=0.5, keyword_number_weight=0.2, sentence_weight=0)
    assert ids(candidates(rare=0.0), s)[0] == "a"
    _, scores = fuse(candidates(rare=0.5, numeric=True), s)
    assert scores[2] == pytest.approx(0.85 + (0.25 + 0.2) * 0.8)
    assert ids(candidates(rare=0.5, numeric=True), s)[0] == "c"


def test_second_stage_rescores_only_the_top_candidates() -> None:
    s = RetrievalSettings(fusion="convex", keyword_weight=0.0, sentence_weight=1.0, rescore_depth=2)
    # first stage: a (0.90), then b and c tie at 0.85 (stable: b first); b's sentence lifts it
    assert ids(candidates(sentence=[0.1, 0.9, 0.99]), s) == ["b", "a", "c"]
    deeper = s.model_copy(update={"rescore_depth": 3})
    assert ids(candidates(sentence=[0.1, 0.9, 0.99]), deeper) == ["c", "b", "a"]


def test_query_profile_from_the_keyword_index() -> None:
    texts = ["Förderung durch den Bund", "Förderung im Land", "Förderung der Kreise", "Förderung 2024", "XPlanung seit 2017"]
    chunks = [StoredChunk(str(i), t, doc_id=str(i)) for i, t in enumerate(texts)]
    keyword = BM25Index.build(Analyzer(), chunks, KeywordSettings(decompound=False))
    p = profile("Förderung und XPlanung oder Quantencomputer", keyword, k1=1.2)
    assert p.terms == 3 and p.unknown == pytest.approx(1 / 3) and p.rare == pytest.approx(1 / 3)
    assert not p.numeric and profile("Was gilt nach § 3?", keyword, k1=1.2).numeric
    assert p.max_bm25 > 0
