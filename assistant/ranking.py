"""How dense and keyword evidence become one ranking (pure functions, shared by retrieval and tuning).

Strategies (`RetrievalSettings.fusion`):
- `rrf`: weighted reciprocal-rank fusion of the two ranked lists;
- `convex`: cosine similarity + w × BM25 normalised by the most a document could score for
  this query (so a query whose words the corpus lacks leans on the dense side by itself);
- `adaptive`: like `convex`, with w growing with the share of rare query terms (names,
  numbers, codes: exact terms BM25 is good at).
Any of them can be followed by a second stage that adds the best sentence-level similarity
of each of the top `rescore_depth` candidates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from assistant.settings import RetrievalSettings
from ingest.keyword import BM25Index

Array = npt.NDArray[np.float64]
_NUMBER = re.compile(r"\d|§|\bArt\.")


@dataclass(frozen=True)
class QueryProfile:
    """What the keyword index knows about a query's terms."""

    terms: int
    unknown: float  # share of terms no chunk holds
    unknown_specific: float  # share of terms no chunk holds and no general-language thesaurus lists (names, jargon)
    rare: float  # share of terms held by at most `rare_df` chunks (but some)
    numeric: bool  # digits, § or "Art."
    max_bm25: float  # the most a chunk could score: (k1 + 1) × Σ idf


def profile(query: str, keyword: BM25Index, k1: float, rare_df: int = 3) -> QueryProfile:
    terms = list(dict.fromkeys(keyword.analyze(query)))
    if not terms:
        return QueryProfile(0, 0.0, 0.0, 0.0, bool(_NUMBER.search(query)), 1.0)
    df = [keyword.document_frequency(t) for t in terms]
    idf = sum(math.log(1 + (len(keyword) - d + 0.5) / (d + 0.5)) for d in df)
    return QueryProfile(
        terms=len(terms),
        unknown=sum(d == 0 for d in df) / len(terms),
        unknown_specific=sum(
            d == 0 and (keyword.thesaurus is None or t not in keyword.thesaurus) for t, d in zip(terms, df, strict=True)
        ) / len(terms),
        rare=sum(0 < d <= rare_df for d in df) / len(terms),
        numeric=bool(_NUMBER.search(query)),
        max_bm25=max((k1 + 1) * idf, 1e-9),
    )


Index = npt.NDArray[np.intp] | Sequence[int]


class Sentences(Protocol):
    """The best-matching unit (sentence, list item) of chosen candidates."""

    def __call__(self, idx: Index) -> Array:
        """Its cosine to the question, per candidate (-1 when a candidate has no units)."""
        ...

    def texts(self, idx: Index) -> list[str]:
        """Its text, per candidate."""
        ...


@dataclass
class Candidates:
    """The union of both retrievers' top lists for one question, with what each knew."""

    ids: list[str]
    dense: Array  # cosine; for candidates only BM25 found, the lowest cosine the dense list reached
    keyword: Array  # BM25 / the query's max_bm25, in [0, 1]
    expanded: Array  # BM25 of the thesaurus synonyms of the query's unfamiliar words, normalised alike
    coverage: Array  # IDF-weighted share of the query's terms each candidate holds
    heading: Array  # IDF-weighted share of the query's terms in each candidate's headings (or their variants)
    dense_rank: Array  # 1-based; depth + 1 when absent
    keyword_rank: Array
    depth: int
    profile: QueryProfile
    sentence: Sentences


def first_stage(c: Candidates, s: RetrievalSettings, language: str) -> Array:
    """The fused score of every candidate before any rescoring."""
    kw = s.keyword_weight_en if language == "en" else s.keyword_weight
    keyword = c.keyword + s.thesaurus_weight * c.expanded
    if s.fusion == "rrf":
        def rrf(ranks: Array, weight: float) -> Array:
            return np.where(ranks <= c.depth, weight / (s.rrf_k + ranks), 0.0)

        return rrf(c.dense_rank, s.dense_weight) + rrf(c.keyword_rank, kw)
    if s.fusion == "adaptive":
        kw = kw + s.keyword_rare_weight * c.profile.rare + (s.keyword_number_weight if c.profile.numeric else 0.0)
    return np.asarray(s.dense_weight * c.dense + kw * keyword + s.heading_weight * c.heading)


def fuse(c: Candidates, s: RetrievalSettings, language: str = "de") -> tuple[npt.NDArray[np.intp], Array]:
    """(order of the candidates, best first; their final scores)."""
    scores = first_stage(c, s, language)
    order = np.argsort(-scores, kind="stable")
    if s.rescore_depth and s.sentence_weight and len(order):
        top = order[: s.rescore_depth]
        scores = scores.copy()
        scores[top] += s.sentence_weight * c.sentence(top)
        head = top[np.argsort(-scores[top], kind="stable")]
        order = np.concatenate([head, order[s.rescore_depth :]])
    return order, scores
