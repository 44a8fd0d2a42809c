"""Collect, once per question, everything fusion and refusal decide on: the candidates of both
retrievers with their scores, every candidate's best sentence similarity and which candidates
are relevant. Tuning then tries settings offline through the same `assistant.ranking` code
that runs in production.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.answer import AnswerEngine
from assistant.conversation import Turn, merged_query
from assistant.language import detect_language
from assistant.ranking import Candidates, Index
from assistant.retrieval import Retriever
from assistant.settings import Settings
from eval.datasets import ExternalSet
from eval.external import external_engine, passage_doc_id
from eval.questions import Question
from ingest.embedders import Embedder
from ingest.types import Filters, StoredChunk

Progress = Callable[[str, int, int], None]
COLLECT_VERSION = "6"


class FixedSentences:
    """A candidate list's precomputed best units (picklable `assistant.ranking.Sentences`)."""

    def __init__(self, values: npt.NDArray[np.float64], texts: list[str]) -> None:
        self.values, self._texts = values, texts

    def __call__(self, idx: Index) -> npt.NDArray[np.float64]:
        return self.values[np.asarray(idx, dtype=np.intp)]

    def texts(self, idx: Index) -> list[str]:
        return [self._texts[int(i)] for i in idx]


@dataclass
class Record:
    """One question as fusion and refusal see it."""

    set: str
    qid: str
    question: str
    language: str
    expected: str  # answer | refuse
    candidates: Candidates
    relevant: npt.NDArray[np.bool_]  # per candidate; all False when unknown
    split: str = ""
    kind: str = ""
    paraphrase: bool = False
    known_relevance: bool = True
    extra: dict[str, float] = field(default_factory=dict)


def _candidates(retriever: Retriever, query: str, vector: npt.NDArray[np.float32]) -> tuple[Candidates, list[StoredChunk]]:
    _, _, c, chunks = retriever.candidates(query, vector, retriever.settings.depth, Filters())
    every = np.arange(len(c.ids))
    c.sentence = FixedSentences(c.sentence(every), c.sentence.texts(every))
    return c, chunks


def _vectors(embedder: Embedder, queries: Sequence[str]) -> npt.NDArray[np.float32]:
    parts = [embedder.embed_queries(list(queries[i : i + 64])) for i in range(0, len(queries), 64)]
    return np.vstack(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def own_queries(questions: Sequence[Question]) -> list[str]:
    """The retrieval query of each question: a follow-up merged with the turn it follows."""
    queries: list[str] = []
    for q in questions:
        previous = Turn(queries[-1]) if q.kind == "follow-up" and queries else None
        queries.append(merged_query(q.question, previous) if previous else q.question)
    return queries


def collect_own(engine: AnswerEngine, questions: Sequence[Question], progress: Progress | None = None) -> list[Record]:
    """Records of the project's question set on its corpus (relevance by section)."""
    queries = own_queries(questions)
    vectors = _vectors(engine.index.embedder, queries)
    records = []
    for n, (q, query, vector) in enumerate(zip(questions, queries, vectors, strict=True), 1):
        c, chunks = _candidates(engine.retriever, query, vector)
        relevant = np.array([any(e.doc == ch.doc_id and e.section in ch.section_path for e in q.relevant) for ch in chunks])
        records.append(Record("own", q.id, query, q.lang, "answer" if q.answerable else "refuse", c, relevant,
                              split=q.split or "", kind=q.kind, paraphrase=q.paraphrase))
        if progress:
            progress("own: Fragen", n, len(questions))
    return records


def collect_external(engine: AnswerEngine, xset: ExternalSet, progress: Progress | None = None) -> list[Record]:
    """Records of an external set on its own corpus (relevance by passage, where known)."""
    doc_ids = {passage_doc_id(p.id): p.id for p in xset.passages}
    vectors = _vectors(engine.index.embedder, [q.question for q in xset.questions])
    records = []
    for n, (q, vector) in enumerate(zip(xset.questions, vectors, strict=True), 1):
        c, chunks = _candidates(engine.retriever, q.question, vector)
        known = q.expected == "answer" and xset.kind != "nomiracl"
        relevant = np.array([known and doc_ids.get(ch.doc_id) in q.relevant for ch in chunks], dtype=bool)
        records.append(Record(xset.name, q.id, q.question, detect_language(q.question), q.expected, c, relevant,
                              split=xset.role, known_relevance=known))
        if progress:
            progress(f"{xset.name}: Fragen", n, len(xset.questions))
    return records


def cached(path: Path, key: str, make: Callable[[], list[Record]]) -> list[Record]:
    """Records from `path` when made with the same `key`, else made and stored."""
    digest = hashlib.sha256(f"{COLLECT_VERSION}|{key}".encode()).hexdigest()[:16]
    target = path.with_name(f"{path.stem}-{digest}.pkl")
    if target.exists():
        with open(target, "rb") as fh:
            records: list[Record] = pickle.load(fh)
        return records
    records = make()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".tmp"), "wb") as fh:
        pickle.dump(records, fh)
    target.with_suffix(".tmp").replace(target)
    return records


def collect_all(settings: Settings, own: AnswerEngine, questions: Sequence[Question], sets: Sequence[ExternalSet],
                embedder: Embedder, progress: Progress | None = None) -> list[Record]:
    """Records for the own set and every external set (cached under data/tune/)."""
    cache = settings.paths.data_dir / "tune"
    depth = settings.retrieval.depth
    key = f"{own.index.name}|{depth}|{','.join(q.id for q in questions)}|{hashlib.sha256(repr(questions).encode()).hexdigest()}"
    records = cached(cache / "own", key, lambda: collect_own(own, questions, progress))
    engines: dict[str, AnswerEngine] = {}
    for xset in sets:
        if xset.corpus_name not in engines:
            engines[xset.corpus_name] = external_engine(settings, xset, embedder, progress)
        engine = engines[xset.corpus_name]
        set_key = f"{engine.index.name}|{depth}|{xset.fingerprint}|{len(xset.questions)}|{xset.name}"
        records += cached(cache / xset.name, set_key, functools.partial(collect_external, engine, xset, progress))
    return records
