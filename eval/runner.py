"""Run a question set through the answer engine and score every answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from assistant.answer import AnswerEngine, Prepared
from assistant.conversation import Turn
from assistant.hygiene import lint, plain, points_back, words
from assistant.passages import units_of
from assistant.types import Answer, Hit
from eval.metrics import evaluate_runs, ranked_keys
from eval.questions import Question, fact_matches
from ingest.chunking import split_sentences
from ingest.units import with_lead_ins


@dataclass
class QuestionResult:
    """One question's answer and how it scored."""

    id: str
    kind: str
    lang: str
    split: str
    paraphrase: bool
    answerable: bool
    question: str
    answer: str
    refused: bool
    ranked: list[str]  # relevance keys of the top 10 fused hits
    ranked_dense: list[str]
    ranked_keyword: list[str]
    cited: list[str]  # "doc › section path" of each citation
    facts_found: list[str]
    facts_missing: list[str]
    expected_cited: bool  # an expected section is cited
    citations_in_expected: int  # citations inside an expected section or holding a key fact
    citations: int
    invented: int
    unsupported: int
    sentences: int
    timings: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.0  # the refusal model's probability that the corpus answers
    fact_first: bool = False  # the first sentence holds a key fact
    violations: list[str] = field(default_factory=list)  # hygiene rules the answer breaks
    list_items: int = 0  # items of the source list (when the expected section holds one)
    list_given: int = 0  # of those, items the answer gives
    words: int = 0

    @property
    def passed(self) -> bool:
        if not self.answerable:
            return self.refused
        return not self.refused and not self.facts_missing and self.expected_cited and self.invented == 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"passed": self.passed}


def _keys(q: Question, hits: Sequence[Hit]) -> list[str]:
    return ranked_keys(q.relevant, [(h.chunk.doc_id, h.chunk.section_path, h.chunk.chunk_id) for h in hits])


def first_sentence(text: str) -> str:
    """The answer's first statement (after a lead-in line such as a template's source or a
    list's header, which end on ":" before their citation marks), cut where the chunker cuts
    sentences ("Art. 35", "z. B." stay whole)."""
    body = [line for line in text.split("\n") if plain(line) and not plain(line).endswith(":")] or [text]
    # a lead-in ("LoD1 ist ein Klötzchenmodell:") belongs to what it introduces
    sentences = with_lead_ins(split_sentences(plain(body[0]))) or [plain(body[0])]
    # and a sentence pointing back ("Sie wurde am … veröffentlicht") to the one it points to
    return " ".join(sentences[:2]) if len(sentences) > 1 and points_back(sentences[1]) else sentences[0]


def _given(item: str, answer: str) -> bool:
    key = " ".join(item.split()[:6]).lower()
    return key in " ".join(answer.split()).lower()


def score_answer(
    q: Question, prepared: Prepared, answer: Answer, lists: Mapping[tuple[str, str], list[str]] | None = None
) -> QuestionResult:
    """How one answer did: facts, citations, rankings per retriever, refusal, and its shape."""
    texts = [answer.text] + [c.quote for c in answer.citations]
    found = [f for f in q.key_facts if any(fact_matches(f, t) for t in texts)]
    items = next((lists[(e.doc, e.section)] for e in q.expected if lists and lists.get((e.doc, e.section))), [])

    def relevant(doc: str, section: str) -> bool:
        return any(e.doc == doc and e.section in section.split(" › ") for e in q.relevant)

    r = prepared.retrieval
    return QuestionResult(
        id=q.id, kind=q.kind, lang=q.lang, split=q.split or "–", paraphrase=q.paraphrase, answerable=q.answerable,
        question=q.question, answer=answer.text, refused=answer.refused,
        ranked=_keys(q, r.fused), ranked_dense=_keys(q, r.dense), ranked_keyword=_keys(q, r.keyword),
        cited=[f"{c.doc_id} › {c.section}" for c in answer.citations],
        facts_found=found, facts_missing=[f for f in q.key_facts if f not in found],
        expected_cited=any(relevant(c.doc_id, c.section) for c in answer.citations),
        citations_in_expected=sum(
            1 for c in answer.citations if relevant(c.doc_id, c.section) or any(fact_matches(f, c.quote) for f in q.key_facts)
        ),
        citations=len(answer.citations), invented=answer.invented, unsupported=answer.unsupported,
        sentences=answer.sentences, timings=answer.timings.as_dict(), confidence=answer.confidence,
        fact_first=not answer.refused and any(fact_matches(f, first_sentence(answer.text)) for f in q.key_facts),
        violations=[] if answer.refused else [str(v) for v in lint(answer.text)],
        list_items=len(items) if not answer.refused else 0,
        list_given=sum(_given(i, answer.text) for i in items) if not answer.refused else 0,
        words=0 if answer.refused else words(answer.text),
    )


def section_lists(engine: AnswerEngine) -> dict[tuple[str, str], list[str]]:
    """(doc, heading) -> the list items of that section, as the index holds them."""
    lists: dict[tuple[str, str], list[str]] = {}
    for chunk in sorted(engine.index.store.iter_all(with_text=True), key=lambda c: (c.doc_id, c.position)):
        if chunk.section_path:
            items = [u.text for u in units_of(chunk) if u.kind == "item"]
            lists.setdefault((chunk.doc_id, chunk.section_path[-1]), []).extend(items)
    return {k: v for k, v in lists.items() if len(v) >= 2}


def run_questions(
    engine: AnswerEngine, questions: Sequence[Question], progress: Callable[[int], None] | None = None
) -> list[QuestionResult]:
    """Ask every question (follow-ups with their conversation so far) and score the answers."""
    lists = section_lists(engine)
    results: list[QuestionResult] = []
    history: list[Turn] = []
    for q in questions:
        if q.kind != "follow-up":
            history = []
        prepared = engine.prepare(q.question, history)
        answer = engine.complete(prepared)
        history.append(Turn(q.question, answer.text, answer.query))
        results.append(score_answer(q, prepared, answer, lists))
        if progress:
            progress(len(results))
    return results


def _mean(values: Sequence[float]) -> float:
    return round(float(np.mean(values)), 4) if values else 0.0


def summarize(questions: Sequence[Question], results: Sequence[QuestionResult]) -> dict[str, float]:
    """All metrics of one group of results."""
    ids = {r.id for r in results}
    subset = [q for q in questions if q.id in ids]
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in answerable if not r.refused]
    metrics: dict[str, float] = {"questions": len(results)}
    metrics.update(evaluate_runs(subset, {r.id: r.ranked for r in answerable}))
    for side, runs in (("dense", {r.id: r.ranked_dense for r in answerable}), ("keyword", {r.id: r.ranked_keyword for r in answerable})):
        metrics[f"{side} hit@1"] = evaluate_runs(subset, runs)["hit@1"]
    facts = sum(len(r.facts_found) + len(r.facts_missing) for r in answered)
    metrics["key-fact recall"] = round(sum(len(r.facts_found) for r in answered) / facts, 4) if facts else 0.0
    cited = sum(r.citations for r in answered)
    sentences = sum(r.sentences for r in answered)
    metrics["supported sentences"] = round(1 - sum(r.unsupported for r in answered) / sentences, 4) if sentences else 0.0
    metrics["citation precision"] = round(sum(r.citations_in_expected for r in answered) / cited, 4) if cited else 0.0
    metrics["citation recall"] = _mean([float(r.expected_cited) for r in answered])
    metrics["invented citations"] = float(sum(r.invented for r in results))
    metrics["true refusals"] = _mean([float(r.refused) for r in unanswerable])
    metrics["false refusals"] = _mean([float(r.refused) for r in answerable])
    metrics["passed"] = _mean([float(r.passed) for r in results])
    metrics["key fact first"] = _mean([float(r.fact_first) for r in answered])
    metrics["hygiene violations"] = float(sum(len(r.violations) for r in results))
    listed = [r for r in answered if r.list_items]
    metrics["list completeness"] = round(sum(r.list_given for r in listed) / sum(r.list_items for r in listed), 4) if listed else 0.0
    metrics["words per answer"] = round(float(np.mean([r.words for r in answered])), 1) if answered else 0.0
    for stage in ("embed", "retrieve", "generate", "total"):
        values = [r.timings.get(stage, 0.0) for r in results]
        if values:
            metrics[f"{stage} p50 (s)"] = round(float(np.percentile(values, 50)), 4)
            metrics[f"{stage} p95 (s)"] = round(float(np.percentile(values, 95)), 4)
    return metrics
