"""Tune the fusion on the tuning data and compare strategies on every set side by side.

Tuning data: the own question set's dev split, XQuAD-de and MLQA-de dev. Held out (reported,
never tuned on): the own test split and GermanQuAD test. Each set counts equally in the
objective, so 1,190 XQuAD questions cannot drown 100 paraphrased municipal questions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistant.ranking import fuse
from assistant.settings import RetrievalSettings
from eval.collect import Record

TUNING = ("own-dev", "xquad", "mlqa")


def groups(records: Sequence[Record]) -> dict[str, list[Record]]:
    """Records by evaluation group: own dev/test (and their paraphrases), and each external set."""
    out: dict[str, list[Record]] = {}
    for r in records:
        if r.expected != "answer" or not r.known_relevance:
            continue
        names = [r.set]
        if r.set == "own":
            names = [f"own-{r.split}"] + ([f"own-{r.split}-paraphrased"] if r.paraphrase else [])
        for name in names:
            out.setdefault(name, []).append(r)
    return out


def first_relevant(record: Record, settings: RetrievalSettings) -> int | None:
    order, _ = fuse(record.candidates, settings, record.language)
    hits = np.flatnonzero(record.relevant[order])
    return int(hits[0]) if len(hits) else None


def metrics(records: Sequence[Record], settings: RetrievalSettings) -> dict[str, float]:
    """hit@1, hit@5 and MRR@10 of the fused ranking."""
    ranks = [first_relevant(r, settings) for r in records]
    n = max(len(ranks), 1)
    return {
        "hit@1": round(sum(k == 0 for k in ranks) / n, 4),
        "hit@5": round(sum(k is not None and k < 5 for k in ranks) / n, 4),
        "MRR@10": round(sum(1 / (k + 1) for k in ranks if k is not None and k < 10) / n, 4),
    }


def single(records: Sequence[Record], side: str) -> dict[str, float]:
    """One retriever alone: dense by cosine, keyword by BM25 (each over its own list)."""
    ranks = []
    for r in records:
        c = r.candidates
        score, rank = (c.dense, c.dense_rank) if side == "dense" else (c.keyword, c.keyword_rank)
        listed = np.flatnonzero(rank <= c.depth)
        order = listed[np.argsort(-score[listed], kind="stable")]
        hits = np.flatnonzero(r.relevant[order])
        ranks.append(int(hits[0]) if len(hits) else None)
    n = max(len(ranks), 1)
    return {
        "hit@1": round(sum(k == 0 for k in ranks) / n, 4),
        "hit@5": round(sum(k is not None and k < 5 for k in ranks) / n, 4),
        "MRR@10": round(sum(1 / (k + 1) for k in ranks if k is not None and k < 10) / n, 4),
    }


def objective(by_group: dict[str, list[Record]], settings: RetrievalSettings) -> float:
    """Mean over the tuning groups of hit@1 + MRR@10 (each group weighted equally)."""
    scores = [metrics(by_group[g], settings) for g in TUNING if g in by_group]
    return float(np.mean([s["hit@1"] + s["MRR@10"] for s in scores])) if scores else 0.0


GRIDS: dict[str, dict[str, Iterable[Any]]] = {
    "rrf": {"keyword_weight": (0.2, 0.4, 0.6, 0.8, 1.0), "rrf_k": (5, 20, 60), "sentence_weight": (0.0,)},
    "convex": {"keyword_weight": (0.1, 0.2, 0.3, 0.45), "thesaurus_weight": (0.0, 0.25, 0.5, 1.0),
               "heading_weight": (0.0, 0.02, 0.05, 0.1), "sentence_weight": (0.0,)},
    "adaptive": {"keyword_weight": (0.05, 0.1, 0.2), "keyword_rare_weight": (0.0, 0.2, 0.4, 0.8),
                 "keyword_number_weight": (0.0, 0.1, 0.2), "thesaurus_weight": (0.25, 0.5), "heading_weight": (0.0, 0.05),
                 "sentence_weight": (0.0,)},
}
SECOND_STAGE = {"sentence_weight": (0.25, 0.5, 0.75, 1.0, 1.5), "rescore_depth": (10, 20)}


@dataclass
class Tuned:
    strategy: str
    settings: RetrievalSettings
    objective: float


def grid(base: RetrievalSettings, space: Mapping[str, Iterable[Any]]) -> Iterable[RetrievalSettings]:
    names = list(space)
    for values in itertools.product(*(list(space[n]) for n in names)):
        yield base.model_copy(update=dict(zip(names, values, strict=True)))


def tune(by_group: dict[str, list[Record]], base: RetrievalSettings) -> list[Tuned]:
    """The best settings of each strategy, with and without the sentence-level second stage."""
    out: list[Tuned] = []
    for strategy, space in GRIDS.items():
        start = base.model_copy(update={"fusion": strategy})
        best = max(grid(start, space), key=lambda s: objective(by_group, s))
        out.append(Tuned(strategy, best, objective(by_group, best)))
        rescored = max(grid(best, SECOND_STAGE), key=lambda s: objective(by_group, s))
        out.append(Tuned(f"{strategy} + rescoring", rescored, objective(by_group, rescored)))
    return out


# --- the whole tuning run: fusion, refusal, follow-ups -> a preset ---------------------------

RETRIEVAL_FIELDS = ("fusion", "dense_weight", "keyword_weight", "keyword_weight_en", "keyword_rare_weight",
                    "keyword_number_weight", "rrf_k", "thesaurus_weight", "thesaurus_max_df", "heading_weight", "sentence_weight",
                    "rescore_depth")


def retrieval_table(
    by_group: dict[str, list[Record]], variants: dict[str, RetrievalSettings | str]
) -> dict[str, dict[str, dict[str, float]]]:
    """variant -> group -> metrics; a variant is settings, or "dense"/"keyword" for one retriever alone."""
    return {
        name: {g: single(rs, v) if isinstance(v, str) else metrics(rs, v) for g, rs in by_group.items()}
        for name, v in variants.items()
    }


def write_preset(path: Path, settings: dict[str, Any], about: dict[str, Any]) -> None:
    """A preset file: what the tuning found (`settings`) and how (`about`)."""
    header = "# Written by `lotse eval tune`. Edit by re-running it (or override single values in the environment).\n"
    text = yaml.safe_dump({"about": about, "settings": settings}, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(header + text, encoding="utf-8")
