"""External German sets through Lotse's own pipeline: dense, keyword, fused and end to end.

Each set's passages are indexed like a corpus (Chroma + BM25 + unit vectors, under
data/external/<corpus>/, reused on the next run) and every question goes through the same
`AnswerEngine` as in production: retrieval per method, the refusal decision and, end to end,
the extractive answer.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answer import AnswerEngine, Prepared
from assistant.settings import Settings
from assistant.types import Answer, Hit
from eval.datasets import ExternalQuestion, ExternalSet
from eval.metrics import mean_metrics, ranking_metrics
from ingest.embedders import Embedder, build_embedder
from ingest.index import open_index
from ingest.pipeline import index_documents
from ingest.types import Document

METHODS = ("dense", "keyword", "fused")
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def passage_doc_id(passage_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", passage_id)


def documents(xset: ExternalSet) -> list[Document]:
    """The set's passages as Lotse documents (one section each, titled as in the set)."""
    docs = []
    for p in xset.passages:
        digest = hashlib.sha256(f"{p.title}\0{p.text}".encode()).hexdigest()
        docs.append(Document(passage_doc_id(p.id), p.title, "dokument", p.text, f"{xset.corpus_name}/{p.id}", digest))
    return docs


def external_settings(settings: Settings, xset: ExternalSet) -> Settings:
    """The same settings, with the set's own data directory."""
    paths = settings.paths.model_copy(update={"data_dir": settings.paths.data_dir / "external" / xset.corpus_name,
                                              "models_dir": settings.paths.models()})
    return settings.model_copy(update={"paths": paths})


def external_engine(settings: Settings, xset: ExternalSet, embedder: Embedder, progress: Progress | None = None) -> AnswerEngine:
    """An engine over the set's corpus, indexed first where needed."""
    own = external_settings(settings, xset)
    index = open_index(own, embedder)
    stage = f"{xset.corpus_name}: Passagen einbetten"
    index_documents(index, own, documents(xset), (lambda done, total: progress(stage, done, total)) if progress else None)
    return AnswerEngine(own, index)


@dataclass
class QuestionRow:
    """One external question: its rankings, the refusal evidence and (end to end) the answer."""

    id: str
    expected: str  # answer | refuse
    ranked: dict[str, list[str]]  # method -> passage ids, best first
    relevant: list[str]
    refused: bool
    gold_in_answer: bool | None = None
    features: dict[str, float] = field(default_factory=dict)


def ranked_passages(hits: Sequence[Hit], doc_ids: dict[str, str]) -> list[str]:
    """Passage ids in rank order, each once (a long passage may have several chunks)."""
    return list(dict.fromkeys(doc_ids.get(h.chunk.doc_id, h.chunk.doc_id) for h in hits))


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w%€.,-]", " ", text.lower()).split())


def question_row(engine: AnswerEngine, q: ExternalQuestion, doc_ids: dict[str, str], end_to_end: bool) -> QuestionRow:
    prepared = engine.prepare(q.question)
    r = prepared.retrieval
    ranked = {m: ranked_passages(hits, doc_ids) for m, hits in (("dense", r.dense), ("keyword", r.keyword), ("fused", r.fused))}
    row = QuestionRow(q.id, q.expected, ranked, sorted(q.relevant), prepared.decision.refuse, features=features(prepared))
    if end_to_end and not row.refused:
        answer: Answer = engine.complete(prepared)
        row.refused = answer.refused
        if q.answers and not answer.refused:
            row.gold_in_answer = any(_normal(a) in _normal(answer.text) for a in q.answers if a.strip())
    return row


def features(prepared: Prepared) -> dict[str, float]:
    """The refusal evidence of a prepared question, and the model's confidence."""
    return dict(prepared.decision.features) | {"confidence": prepared.decision.confidence}


@dataclass
class SetResult:
    name: str
    role: str
    questions: int
    passages: int
    retrieval: dict[str, dict[str, float]]  # method -> metric -> value (sets with known relevant passages)
    end_to_end: dict[str, float]
    seconds: float
    rows: list[QuestionRow] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "rows"}


def summarize_rows(rows: Sequence[QuestionRow]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Retrieval metrics per method (answerable questions with known passages) and end-to-end rates."""
    scored = [r for r in rows if r.expected == "answer" and r.relevant]
    retrieval = {m: mean_metrics([ranking_metrics(r.ranked[m], set(r.relevant)) for r in scored]) for m in METHODS} if scored else {}
    answer = [r for r in rows if r.expected == "answer"]
    refuse = [r for r in rows if r.expected == "refuse"]
    e2e: dict[str, float] = {}
    if answer:
        e2e["answered"] = round(sum(not r.refused for r in answer) / len(answer), 4)
    if refuse:
        e2e["refused"] = round(sum(r.refused for r in refuse) / len(refuse), 4)
    if any(r.gold_in_answer is not None for r in answer):
        e2e["answer holds gold span"] = round(sum(r.gold_in_answer is True for r in answer) / len(answer), 4)
    return retrieval, e2e


def run_set(engine: AnswerEngine, xset: ExternalSet, limit: int | None = None, end_to_end: bool = True,
            progress: Progress | None = None) -> SetResult:
    """Ask every question of the set (or the first `limit`) and score the rankings and answers."""
    started = time.perf_counter()
    doc_ids = {passage_doc_id(p.id): p.id for p in xset.passages}
    questions = xset.questions[:limit] if limit else xset.questions
    rows = []
    for n, q in enumerate(questions, 1):
        rows.append(question_row(engine, q, doc_ids, end_to_end))
        if progress:
            progress(f"{xset.name}: Fragen", n, len(questions))
    retrieval, e2e = summarize_rows(rows)
    return SetResult(xset.name, xset.role, len(rows), len(xset.passages), retrieval, e2e,
                     round(time.perf_counter() - started, 1), rows)


def run_external(settings: Settings, sets: Sequence[ExternalSet], limit: int | None = None, end_to_end: bool = True,
                 progress: Progress | None = None) -> list[SetResult]:
    """Every set through its own engine; sets sharing a corpus (NoMIRACL's halves) share it."""
    embedder = build_embedder(settings.embedder, settings.paths.models())
    engines: dict[str, AnswerEngine] = {}
    results = []
    for xset in sets:
        if xset.corpus_name not in engines:
            engines[xset.corpus_name] = external_engine(settings, xset, embedder, progress)
        results.append(run_set(engines[xset.corpus_name], xset, limit, end_to_end, progress))
    return results
