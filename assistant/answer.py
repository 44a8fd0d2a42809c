"""The answer pipeline: question -> retrieval -> refusal decision -> generation -> citation check."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from assistant.analysis import TextAnalysis
from assistant.citations import CitationChecker, citation_for
from assistant.composer import ExtractiveGenerator
from assistant.conversation import FollowUp, FollowUpDetector, Turn, merged_query
from assistant.errors import LotseError, ServiceCode, index_unavailable
from assistant.generation import AskVector, Draft, GenerationRequest, Generator
from assistant.language import detect_language
from assistant.llm import LLMGenerator, build_llm
from assistant.passages import Passage, UnitVectors, make_passages, units_of
from assistant.question import Kind, parts
from assistant.refusal import Decision, RefusalPolicy
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.types import Answer, Hit, Retrieval, Timings
from ingest.index import Index, open_index
from ingest.types import Filters, StoredChunk, Vector

log = logging.getLogger("lotse.answer")
RANKED = 20  # fused hits kept per question (evaluation looks at 10); the first `passages` go to the generator
REFUSAL = {
    "de": "Dazu finde ich in den Unterlagen keine belastbare Antwort. Am nächsten kommen diese Quellen:",
    "en": "I could not find a reliable answer to this in the guides. These sources come closest:",
}
FALLBACK_NOTE = {
    "de": "Das Sprachmodell war nicht erreichbar; dies ist eine extraktive Antwort aus den Quellen.",
    "en": "The language model was not reachable; this is an extractive answer from the sources.",
}


@dataclass
class Prepared:
    """Everything known about a question before generation."""

    question: str
    language: str
    query: str
    retrieval: Retrieval
    passages: list[Passage]
    asks: list[AskVector]
    decision: Decision
    timings: Timings
    history: tuple[Turn, ...] = ()
    follow_up: FollowUp | None = None

    def ranked(self) -> list[tuple[str, tuple[str, ...], str]]:
        return [(h.chunk.doc_id, h.chunk.section_path, h.chunk.chunk_id) for h in self.retrieval.fused]


FORMS: dict[Kind, Callable[[StoredChunk], bool]] = {
    "list": lambda c: sum(u.kind == "item" for u in units_of(c)) >= 3,
    "template": lambda c: c.kind == "template",
    "contact": lambda c: c.doc_type == "verzeichnis",
}


def with_form(fused: Sequence[Hit], kind: Kind, k: int) -> list[Hit]:
    """The top k hits; when the question wants a form (a list, a template, a contact) none of
    them has, the best-ranked further hit that has it joins them."""
    hits = list(fused[:k])
    has = FORMS.get(kind)
    if has is not None and not any(has(h.chunk) for h in hits):
        hits += [h for h in fused[k:] if has(h.chunk)][:1]
    return hits


class AnswerEngine:
    """Answers questions from one index; web, Slack, CLI and eval all go through here."""

    def __init__(self, settings: Settings, index: Index | None = None, generator: Generator | None = None) -> None:
        self.settings = settings
        self.index = index or open_index(settings)
        vectors = UnitVectors(self.index.embedder, settings.evidence.unit_cache, self.index.units)
        self.retriever = Retriever(self.index, settings.retrieval, vectors)
        self.analysis = TextAnalysis(vectors, lambda: self.index.keyword().analyzer)
        self.extractive = ExtractiveGenerator(settings.generator, self.analysis)
        backend = settings.generator.backend
        self.generator = generator or (self.extractive if backend == "extractive" else LLMGenerator(build_llm(settings.generator), backend))
        self.checker = CitationChecker(self.analysis, settings.citations, settings.answer.public_url)
        self.refusal = RefusalPolicy(settings.refusal)
        self.follow_ups = FollowUpDetector(settings.conversation)

    def validate(self, question: str) -> str:
        question = " ".join((question or "").split())
        limit = self.settings.answer.max_question_chars
        if not question:
            raise LotseError(ServiceCode.EMPTY_QUESTION, "Bitte eine Frage eingeben.", "Please enter a question.")
        if len(question) > limit:
            raise LotseError(
                ServiceCode.QUESTION_TOO_LONG,
                f"Die Frage ist zu lang ({len(question)} Zeichen, höchstens {limit}). Bitte kürzer fassen.",
                f"The question is too long ({len(question)} characters, at most {limit}). Please shorten it.",
            )
        return question

    def _retrieve(self, query: str, language: str, filters: Filters | None, vector: Vector | None = None) -> Retrieval:
        try:
            k = max(RANKED, self.settings.retrieval.passages)
            return self.retriever.retrieve(query, k=k, filters=filters, language=language, vector=vector)
        except LotseError:
            raise
        except Exception as exc:  # Chroma down or unreachable, whatever the client raises
            log.warning("retrieval failed: %s: %s", type(exc).__name__, exc)
            raise index_unavailable() from exc

    def follow_up_evidence(self, question: str, previous: Turn, language: str, filters: Filters | None = None
                           ) -> tuple[str, Retrieval, Retrieval, dict[str, float]]:
        """The merged query, the retrievals of the question alone and merged, and the evidence
        the follow-up model weighs."""
        merged = merged_query(question, previous)
        vectors = self.index.embedder.embed_queries([question, merged, previous.question])
        alone = self._retrieve(question, language, filters, vectors[0])
        together = self._retrieve(merged, language, filters, vectors[1])
        def top(r: Retrieval) -> float:
            return max((h.dense or 0.0 for h in r.dense), default=0.0)

        values = self.follow_ups.features(question, float(vectors[0] @ vectors[2]), top(alone), top(together))
        return merged, alone, together, values

    def _in_context(
        self, question: str, history: Sequence[Turn], language: str, filters: Filters | None
    ) -> tuple[str, Retrieval, FollowUp | None, Vector]:
        """The retrieval query and its hits: the question alone, or merged with the previous
        turn when it is a follow-up; and the question's own vector, which the answer is read
        with (the merged query finds the topic, "Und was kostet es?" asks for the cost)."""
        if not history:
            retrieval = self._retrieve(question, language, filters)
            return question, retrieval, None, retrieval.vector
        merged, alone, together, values = self.follow_up_evidence(question, history[-1], language, filters)
        decision = self.follow_ups.decide(values)
        unknown = alone.candidates is not None and alone.candidates.profile.unknown >= 1.0
        if decision.follow_up and unknown and not (values.get("opener") or values.get("pointer")):
            # no word of it occurs in the corpus and nothing points back ("Wie backe ich einen
            # Apfelkuchen?"): a new question, which merging would only hide behind the previous topic
            decision = dataclasses.replace(decision, follow_up=False)
        query, chosen = (merged, together) if decision.follow_up else (question, alone)
        return query, chosen, decision, alone.vector

    def _asks(self, question: str, retrieval: Retrieval, own: Vector, language: str,
              filters: Filters | None) -> tuple[list[AskVector], list[Hit]]:
        """The question's parts with their vectors, and the hits to answer from: for a question
        asking two things, each part's best hits in turn, so each part has its own best source."""
        asks = parts(question)
        k = self.settings.retrieval.passages
        if len(asks) == 1:
            passages = self._with_overview(with_form(retrieval.fused, asks[0].kind, k), retrieval.fused, filters or Filters())
            return [AskVector(question, asks[0].kind, own)], passages
        # a later part ("… und welche Versionen gibt es?") is searched with the part before it as context
        vectors = self.index.embedder.embed_queries([a.text if i == 0 else f"{a.text} {asks[i - 1].text}" for i, a in enumerate(asks)])
        found = [self._retrieve(a.text, language, filters, v).fused for a, v in zip(asks, vectors, strict=True)]
        hits: dict[str, Hit] = {}
        for rank in range(max(len(f) for f in found)):
            for f in found:
                if rank < len(f) and len(hits) < k + len(asks):
                    hits.setdefault(f[rank].chunk.chunk_id, f[rank])
        return ([AskVector(a.text, a.kind, v, {h.chunk.chunk_id: h for h in f}) for a, v, f in zip(asks, vectors, found, strict=True)],
                list(hits.values()))

    def _with_overview(self, hits: list[Hit], fused: Sequence[Hit], filters: Filters) -> list[Hit]:
        """The hits, and the opening chunk of a section two or more retrieved subsections belong
        to, if it is not among them yet: "3.3 Schritt 2 …" and "3.6 Schritt 5 …" bring the
        overview of all five steps that opens "3 Schritte zum Start"."""
        sections: dict[tuple[str, tuple[str, ...]], list[Hit]] = {}
        for hit in fused:
            parent = tuple(hit.chunk.section_path[:-1])
            if len(parent) >= 2:  # below a section, not just below the document's title
                sections.setdefault((hit.chunk.doc_id, parent), []).append(hit)
        hits = list(hits)
        present = {h.chunk.chunk_id for h in hits}
        for (doc_id, parent), below in sections.items():
            if len({h.chunk.section_path for h in below}) < 2:
                continue
            opening = self.index.store.opening(doc_id, parent)
            if opening is not None and filters.allows(opening) and opening.chunk_id not in present:
                hits.append(Hit(opening, below[0].score, dense=below[0].dense, keyword=below[0].keyword))
                present.add(opening.chunk_id)
        return hits

    def prepare(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Prepared:
        """Retrieval, the follow-up and refusal decisions, the parts and passages of a question."""
        started = time.perf_counter()
        question = self.validate(question)
        language = detect_language(question, self.settings.answer.english_confidence)
        query, retrieval, follow_up, own = self._in_context(question, history, language, filters)
        decision = self.refusal.decide(question, language, retrieval.candidates, retrieval.order)
        asks, hits = self._asks(question, retrieval, own, language, filters)
        timings = retrieval.timings
        timings.total = time.perf_counter() - started
        return Prepared(question, language, query, retrieval, make_passages(hits), asks, decision, timings,
                        tuple(history), follow_up)

    def refuses(self, prepared: Prepared) -> bool:
        return prepared.decision.refuse

    def answer(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Answer:
        """One complete, checked answer."""
        return self.complete(self.prepare(question, history, filters))

    def stream(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Iterator[tuple[str, object]]:
        """Events: ("delta", text) while generating, then ("answer", Answer) after the check."""
        started = time.perf_counter()
        yield from self.stream_prepared(self.prepare(question, history, filters), started)

    def complete(self, prepared: Prepared) -> Answer:
        """The checked answer for a prepared question (evaluation looks at `prepared` too)."""
        for event, payload in self.stream_prepared(prepared, time.perf_counter() - prepared.timings.total):
            if event == "answer" and isinstance(payload, Answer):
                return payload
        raise RuntimeError("the answer pipeline ended without an answer")

    def stream_prepared(self, prepared: Prepared, started: float) -> Iterator[tuple[str, object]]:
        history = prepared.history
        if self.refuses(prepared):
            yield "answer", self._refusal(prepared, started)
            return
        request = GenerationRequest(prepared.question, prepared.language, prepared.passages, prepared.asks,
                                    history=tuple(history))
        t0 = time.perf_counter()
        notes: list[str] = []
        draft = Draft("", refused=True)
        try:
            for piece in self.generator.stream(request):
                if isinstance(piece, Draft):
                    draft = piece
                else:
                    yield "delta", piece
        except LotseError:
            if self.generator is self.extractive:
                raise
            notes.append(FALLBACK_NOTE[prepared.language])
            draft = self.extractive.generate(request)
            yield "reset", ""
            yield "delta", draft.text
        prepared.timings.generate = time.perf_counter() - t0
        if draft.refused:
            yield "answer", self._refusal(prepared, started, notes)
            return
        checked = self.checker.check(draft.text, prepared.passages, prepared.language)
        if not checked.citations:
            yield "answer", self._refusal(prepared, started, notes, invented=checked.invented, unsupported=checked.unsupported)
            return
        text = f"{draft.lead}\n\n{checked.text}" if draft.lead else checked.text
        prepared.timings.total = time.perf_counter() - started
        yield "answer", Answer(
            answer_id=uuid.uuid4().hex,
            question=prepared.question,
            text=text,
            citations=checked.citations,
            refused=False,
            language=prepared.language,
            query=prepared.query,
            timings=prepared.timings,
            notes=notes + draft.notes,
            generator=draft.generator,
            sentences=sum(1 for seg in checked.segments if seg.text.strip()),
            unsupported=checked.unsupported,
            invented=checked.invented,
            confidence=prepared.decision.confidence,
            ranked=prepared.ranked(),
        )

    def _refusal(
        self, prepared: Prepared, started: float, notes: list[str] | None = None, invented: int = 0, unsupported: int = 0
    ) -> Answer:
        shown = prepared.passages[: self.settings.refusal.sources_shown]
        prepared.timings.total = time.perf_counter() - started
        return Answer(
            answer_id=uuid.uuid4().hex,
            question=prepared.question,
            text=REFUSAL[prepared.language],
            citations=[],
            refused=True,
            language=prepared.language,
            query=prepared.query,
            timings=prepared.timings,
            sources=[
                citation_for(
                    i, p, p.units[0].text if p.units else p.hit.chunk.text, self.settings.answer.public_url,
                    self.settings.citations.quote_chars,
                )
                for i, p in enumerate(shown, 1)
            ],
            notes=notes or [],
            invented=invented,
            unsupported=unsupported,
            confidence=prepared.decision.confidence,
            ranked=prepared.ranked(),
        )
