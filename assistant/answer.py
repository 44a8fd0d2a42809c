"""The answer pipeline: question -> retrieval -> refusal decision -> generation -> citation check."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.citations import CitationChecker, citation_for
from assistant.conversation import Turn, condense
from assistant.errors import LotseError, ServiceCode, index_unavailable
from assistant.evidence import EvidenceScorer, ScoredUnit
from assistant.generators import Draft, ExtractiveGenerator, GenerationRequest, Generator, build_generator
from assistant.language import detect_language
from assistant.passages import Passage, UnitVectors, make_passages
from assistant.refusal import Decision, RefusalPolicy
from assistant.retrieval import Retriever
from ingest.types import Filters
from assistant.settings import Settings
from assistant.types import Answer, Retrieval, Timings
from ingest.index import Index, open_index

log = logging.getLogger("lotse.answer")
RANKED = 10  # hits kept per question (for evaluation); the first `passages` go to the generator
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
    scored: list[ScoredUnit]
    decision: Decision
    timings: Timings
    question_vector: np.ndarray

    @property
    def evidence(self) -> float:
        return self.decision.evidence

    def ranked(self) -> list[tuple[str, tuple[str, ...], str]]:
        return [(h.chunk.doc_id, h.chunk.section_path, h.chunk.chunk_id) for h in self.retrieval.fused]


class AnswerEngine:
    """Answers questions from one index; web, Slack, CLI and eval all go through here."""

    def __init__(self, settings: Settings, index: Index | None = None, generator: Generator | None = None) -> None:
        self.settings = settings
        self.index = index or open_index(settings)
        self.retriever = Retriever(self.index, settings.retrieval)
        self.scorer = EvidenceScorer(
            UnitVectors(self.index.embedder, settings.evidence.unit_cache), lambda: self.index.keyword().analyzer, settings.evidence
        )
        self.extractive = ExtractiveGenerator(settings.generator, self.scorer)
        self.generator = generator or (
            self.extractive if settings.generator.backend == "extractive" else build_generator(settings.generator, self.scorer)
        )
        self.checker = CitationChecker(self.scorer, settings.citations, settings.answer.public_url)
        self.refusal = RefusalPolicy(settings.refusal)

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

    def prepare(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Prepared:
        started = time.perf_counter()
        question = self.validate(question)
        language = detect_language(question, self.settings.answer.english_confidence)
        query = condense(question, list(history), self.settings.conversation.follow_up_max_words)
        try:
            retrieval = self.retriever.retrieve(query, k=max(RANKED, self.settings.retrieval.passages), filters=filters, language=language)
        except LotseError:
            raise
        except Exception as exc:  # Chroma down or unreachable, whatever the client raises
            log.warning("retrieval failed: %s: %s", type(exc).__name__, exc)
            raise index_unavailable() from exc
        passages = make_passages(retrieval.fused[: self.settings.retrieval.passages])
        t0 = time.perf_counter()
        question_vector = retrieval.vector
        scored = self.scorer.score(question_vector, query, passages)
        evidence = max((s.score for s in scored), default=0.0)
        decision = self.refusal.decide(language, query, retrieval.fused, evidence, self.index.keyword())
        timings = retrieval.timings
        timings.embed += time.perf_counter() - t0
        timings.total = time.perf_counter() - started
        return Prepared(question, language, query, retrieval, passages, scored, decision, timings, question_vector)

    def refuses(self, prepared: Prepared) -> bool:
        return prepared.decision.refuse

    def answer(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Answer:
        """One complete, checked answer."""
        answer: Answer | None = None
        for event, payload in self.stream(question, history, filters):
            if event == "answer":
                assert isinstance(payload, Answer)
                answer = payload
        assert answer is not None
        return answer

    def stream(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Iterator[tuple[str, object]]:
        """Events: ("delta", text) while generating, then ("answer", Answer) after the check."""
        started = time.perf_counter()
        prepared = self.prepare(question, history, filters)
        if self.refuses(prepared):
            yield "answer", self._refusal(prepared, started)
            return
        request = GenerationRequest(
            prepared.question, prepared.language, prepared.passages,
            prepared.question_vector, prepared.scored, tuple(history),
        )
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
        separator = "\n\n" if checked.text.startswith((">", "-")) else " "
        text = f"{draft.lead}{separator}{checked.text}" if draft.lead else checked.text
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
            evidence=prepared.evidence,
            uncovered=prepared.decision.uncovered,
            ranked=prepared.ranked(),
        )

    def _refusal(self, prepared: Prepared, started: float, notes: list[str] | None = None, invented: int = 0, unsupported: int = 0) -> Answer:
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
                citation_for(i, p, p.units[0].text if p.units else p.hit.chunk.text, self.settings.answer.public_url, self.settings.citations.quote_chars)
                for i, p in enumerate(shown, 1)
            ],
            notes=notes or [],
            invented=invented,
            unsupported=unsupported,
            evidence=prepared.evidence,
            uncovered=prepared.decision.uncovered,
            ranked=prepared.ranked(),
        )
