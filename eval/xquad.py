"""XQuAD-de as an external German retrieval benchmark.

The 240 paragraphs are the corpus; each question's own paragraph is its single relevant hit.
Dense (the configured embedder, paragraph vectors cached under data/xquad/), keyword (BM25
with the German analyzer and compound splitting) and their weighted reciprocal-rank fusion
are scored side by side with ranx.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.retrieval import fuse_rankings
from assistant.settings import Settings
from eval.metrics import NAMES
from ingest.embedders import Embedder, build_embedder
from ingest.keyword import Analyzer, KeywordIndex

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "xquad.de.json"
METRICS = ("hit_rate@1", "hit_rate@5", "mrr@10")
METHODS = ("dense", "keyword", "fused")
QUERY_BATCH = 64
PASSAGE_BATCH = 16

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class XQuadQuestion:
    id: str
    question: str
    paragraph: str  # paragraph id


@dataclass
class XQuadData:
    paragraph_ids: list[str]
    paragraphs: list[str]
    questions: list[XQuadQuestion]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for pid, text in zip(self.paragraph_ids, self.paragraphs):
            digest.update(pid.encode() + b"\0" + text.encode() + b"\0")
        return digest.hexdigest()[:12]


def load_xquad(path: Path) -> XQuadData:
    """Paragraphs and questions of a SQuAD v1.1 file (paragraph ids: <title>-<n>)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    ids: list[str] = []
    texts: list[str] = []
    questions: list[XQuadQuestion] = []
    for article in data["data"]:
        for n, paragraph in enumerate(article["paragraphs"]):
            pid = f"{article['title']}-{n}"
            ids.append(pid)
            texts.append(paragraph["context"])
            questions.extend(XQuadQuestion(qa["id"], qa["question"], pid) for qa in paragraph["qas"])
    return XQuadData(ids, texts, questions)


def _cache_path(cache_dir: Path, embedder: Embedder, data: XQuadData) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", embedder.name).strip("_")
    return cache_dir / f"paragraphs-{safe}-{hashlib.sha256(embedder.name.encode()).hexdigest()[:8]}-{data.fingerprint}.npy"


def paragraph_vectors(embedder: Embedder, data: XQuadData, cache_dir: Path | None, progress: Progress | None = None) -> tuple[np.ndarray, bool]:
    """Passage vectors of all paragraphs, from the cache when there; (matrix, from_cache)."""
    path = _cache_path(cache_dir, embedder, data) if cache_dir is not None else None
    if path is not None and path.exists():
        matrix = np.load(path)
        if matrix.shape == (len(data.paragraphs), embedder.dim):
            return matrix, True
    parts = []
    for start in range(0, len(data.paragraphs), PASSAGE_BATCH):
        parts.append(embedder.embed_passages(data.paragraphs[start : start + PASSAGE_BATCH]))
        if progress:
            progress("paragraphs", min(start + PASSAGE_BATCH, len(data.paragraphs)), len(data.paragraphs))
    matrix = np.vstack(parts).astype(np.float32) if parts else np.zeros((0, embedder.dim), np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, matrix)
        tmp.replace(path)
    return matrix, False


def ranx_scores(runs: dict[str, list[str]], gold: dict[str, str]) -> dict[str, float]:
    """hit@1, hit@5, MRR@10 of ranked paragraph ids per question (ranx)."""
    from ranx import Qrels, Run, evaluate

    if not runs:
        return {NAMES[m]: 0.0 for m in METRICS}
    qrels = Qrels({qid: {gold[qid]: 1} for qid in runs})
    run = Run({
        qid: {pid: float(len(ranked) - rank) for rank, pid in enumerate(ranked)} or {"-": 0.0}
        for qid, ranked in runs.items()
    })
    scores = evaluate(qrels, run, list(METRICS), make_comparable=True)
    return {NAMES[m]: round(float(scores[m]), 4) for m in METRICS}


@dataclass
class XQuadResult:
    metrics: dict[str, dict[str, float]]  # method -> metric -> value
    questions: int
    paragraphs: int
    embedder: str
    weights: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)
    cached: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def markdown(self) -> str:
        names = [NAMES[m] for m in METRICS]
        lines = [
            (f"XQuAD-de: {self.questions} Fragen, {self.paragraphs} Absätze; Embedder {self.embedder}; "
             f"Fusion dense {self.weights['dense_weight']:g} : keyword {self.weights['keyword_weight']:g}, "
             f"rrf_k {self.weights['rrf_k']:g}"),
            "",
            "| Verfahren | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for method, values in self.metrics.items():
            lines.append(f"| {method} | " + " | ".join(f"{values[n]:.3f}" for n in names) + " |")
        return "\n".join(lines) + "\n"


def run_xquad(
    settings: Settings,
    data_path: Path | None = None,
    limit: int | None = None,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    depth: int | None = None,
    progress: Progress | None = None,
) -> XQuadResult:
    """Dense, keyword and fused retrieval over XQuAD-de paragraphs, scored with ranx."""
    started = time.perf_counter()
    data = load_xquad(data_path or DEFAULT_DATA)
    questions: Sequence[XQuadQuestion] = data.questions[:limit] if limit else data.questions
    embedder = embedder or build_embedder(settings.embedder)
    cache_dir = cache_dir if cache_dir is not None else settings.paths.data_dir / "xquad"
    depth = depth or max(settings.retrieval.depth, 10)
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    matrix, cached = paragraph_vectors(embedder, data, cache_dir, progress)
    seconds["paragraphs"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    keyword = KeywordIndex.build(
        Analyzer(settings.keyword.language), data.paragraph_ids, data.paragraphs,
        [{} for _ in data.paragraph_ids], decompound=True,
    )
    seconds["bm25"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    texts = [q.question for q in questions]
    vectors: list[np.ndarray] = []
    for start in range(0, len(texts), QUERY_BATCH):
        vectors.append(embedder.embed_queries(texts[start : start + QUERY_BATCH]))
        if progress:
            progress("questions", min(start + QUERY_BATCH, len(texts)), len(texts))
    queries = np.vstack(vectors) if vectors else np.zeros((0, embedder.dim), np.float32)
    seconds["questions"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    similarities = queries @ matrix.T if len(questions) else np.zeros((0, len(data.paragraphs)))
    runs: dict[str, dict[str, list[str]]] = {m: {} for m in METHODS}
    top = min(depth, len(data.paragraph_ids))
    for q, row in zip(questions, similarities):
        order = np.argsort(-row, kind="stable")[:top]
        dense = [data.paragraph_ids[i] for i in order]
        bm25 = [h.chunk_id for h in keyword.search(q.question, top)]
        fused = fuse_rankings(dense, bm25, settings.retrieval.dense_weight, settings.retrieval.keyword_weight, settings.retrieval.rrf_k)
        runs["dense"][q.id] = dense
        runs["keyword"][q.id] = bm25
        runs["fused"][q.id] = [pid for pid, _ in fused]
    gold = {q.id: q.paragraph for q in questions}
    metrics = {method: ranx_scores(runs[method], gold) for method in METHODS}
    seconds["ranking"] = round(time.perf_counter() - t0, 2)
    seconds["total"] = round(time.perf_counter() - started, 2)
    return XQuadResult(
        metrics=metrics, questions=len(questions), paragraphs=len(data.paragraphs), embedder=embedder.name,
        weights={"dense_weight": settings.retrieval.dense_weight, "keyword_weight": settings.retrieval.keyword_weight,
                 "rrf_k": float(settings.retrieval.rrf_k)},
        seconds=seconds, cached=cached,
    )


def write_xquad(result: XQuadResult, out_dir: Path) -> tuple[Path, Path]:
    """xquad.json and xquad.md in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "xquad.json", out_dir / "xquad.md"
    json_path.write_text(json.dumps(result.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    md_path.write_text("# XQuAD-de – Retrieval\n\n" + result.markdown(), encoding="utf-8")
    return json_path, md_path
