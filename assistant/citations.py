"""The citation check: map [n] back to passages, drop invented ids, keep only supported sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.analysis import TextAnalysis
from assistant.figures import figures_agree
from assistant.hygiene import URL
from assistant.passages import Passage, term_overlap
from assistant.settings import CitationSettings
from assistant.types import Citation
from ingest.chunking import split_sentences

_MARKERS = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_NUMBER = re.compile(r"\d+")


@dataclass
class Segment:
    """A sentence (or list item, or block) of an answer and the passages it cites."""

    text: str  # as written, without markers
    cited: list[int]
    invented: int = 0
    supported: bool = False
    similarity: float = 0.0
    overlap: float = 0.0
    quote: str = ""
    source: int = 0  # the passage that supports it best


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    segments: list[Segment]
    unsupported: int
    invented: int


def split_segments(text: str, valid: set[int]) -> list[Segment]:
    """Cut an answer after each group of markers; text after the last marker is a segment too."""
    segments: list[Segment] = []
    position = 0
    for match in _MARKERS.finditer(text):
        numbers = [int(n) for n in _NUMBER.findall(match.group())]
        kept = list(dict.fromkeys(n for n in numbers if n in valid))
        segments.append(Segment(text[position : match.start()], kept, invented=len(numbers) - len([n for n in numbers if n in valid])))
        position = match.end()
    if text[position:].strip():
        segments.append(Segment(text[position:], []))
    return segments


@dataclass(frozen=True)
class Support:
    similarity: float  # to the passage's closest unit (or, judged finer, its closest sentence)
    overlap: float  # share of the sentence's key terms the passage holds
    numbers_ok: bool  # every figure of the sentence occurs in the passage
    quote: str  # that unit or sentence


def _plain(text: str) -> str:
    return " ".join(re.sub(r"^\s*(?:[-*]|>)\s*", "", text.strip(), flags=re.M).split())


class CitationChecker:
    """Checks every sentence against the passages it cites (embedding similarity + key terms)."""

    def __init__(self, analysis: TextAnalysis, settings: CitationSettings, source_url: str) -> None:
        self.analysis = analysis
        self.settings = settings
        self.source_url = source_url.rstrip("/")

    def check(self, text: str, passages: list[Passage], language: str = "de") -> Checked:
        by_n = {p.n: p for p in passages}
        segments = split_segments(text, set(by_n))
        for segment in segments:
            self._support(segment, by_n, language)
        kept = [s for s in segments if s.supported or (self.settings.unsupported == "flag" and _plain(s.text))]
        numbering: dict[int, int] = {}
        for segment in kept:
            for n in segment.cited:
                numbering.setdefault(n, len(numbering) + 1)
        out = ""
        for segment in kept:
            markers = "".join(f"[{numbering[n]}]" for n in segment.cited) + ("" if segment.supported else "[?]")
            out += segment.text.rstrip() + (" " + markers if markers else "")
        out = out.strip()
        citations = [self._citation(numbering[n], by_n[n], kept) for n in numbering]
        return Checked(
            text=out,
            citations=sorted(citations, key=lambda c: c.n),
            segments=segments,
            unsupported=sum(1 for s in segments if not s.supported and _plain(s.text)),
            invented=sum(s.invented for s in segments),
        )

    def evidence(self, sentence: str, passage: Passage, finer: bool = False) -> Support:
        """What decides whether `passage` supports `sentence` (shared with the calibration): its
        closest unit, or with `finer` its closest sentence within a unit of several (an answer
        may quote one sentence of a list item; embedded on demand, so only asked when needed)."""
        vector = self.analysis.vectors([sentence])[0]
        self.analysis.vectors.load([passage.hit.chunk])
        units = [u.text for u in passage.units] or [passage.hit.chunk.text]
        if finer:
            units = [s for u in units if len(parts := split_sentences(u)) > 1 for s in parts] or units
        sims = self.analysis.vectors(units) @ vector
        i = int(np.argmax(sims))
        text = passage.hit.chunk.text
        return Support(
            similarity=float(sims[i]),
            overlap=term_overlap(self.analysis.terms(sentence), set(self.analysis.terms(text))),
            numbers_ok=figures_agree(sentence, text),
            quote=units[i],
        )

    def judge(self, sentence: str, passage: Passage, language: str) -> tuple[Support, bool]:
        """The evidence and the verdict: by the closest unit, else by the closest sentence."""
        e = self.evidence(sentence, passage)
        if self.supports(e, language):
            return e, True
        if e.numbers_ok and self.supports(fine := self.evidence(sentence, passage, finer=True), language):
            return fine, True
        return e, False

    def supports(self, e: Support, language: str) -> bool:
        """Figures must agree; then the sentence must be close to one of the passage's units,
        closer when it shares fewer of the passage's key terms. (Negation is not checked: no
        word rule beat chance on eval/citations.yaml; see the README.)"""
        s = self.settings
        if not e.numbers_ok:
            return False
        if language == "en":
            return e.similarity >= s.cross_lingual_similarity
        return e.similarity >= s.strict_similarity or (e.similarity >= s.min_similarity and e.overlap >= s.min_overlap)

    def _support(self, segment: Segment, by_n: dict[int, Passage], language: str) -> None:
        """The best cited passage for a segment, and whether it supports it."""
        plain = _plain(segment.text)
        if not plain or not segment.cited:
            return
        for n in segment.cited:
            e, supported = self.judge(plain, by_n[n], language)
            if (supported, e.similarity) > (segment.supported, segment.similarity):
                segment.supported, segment.similarity, segment.overlap = supported, e.similarity, e.overlap
                segment.quote, segment.source = e.quote, n

    def _citation(self, number: int, passage: Passage, kept: list[Segment]) -> Citation:
        chunk = passage.hit.chunk
        quotes = [s.quote for s in kept if s.source == passage.n and s.quote]
        quote = quotes[0] if quotes else (passage.units[0].text if passage.units else chunk.text)
        return citation_for(number, passage, quote, self.source_url, self.settings.quote_chars)


def citation_for(number: int, passage: Passage, quote: str, source_url: str, quote_chars: int = 400) -> Citation:
    chunk = passage.hit.chunk
    return Citation(
        n=number,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        title=chunk.title,
        section=chunk.section,
        anchor=chunk.anchor,
        page=chunk.page,
        url=f"{source_url.rstrip('/')}/sources/{chunk.doc_id}#{chunk.anchor}",
        quote=quote if len(quote) <= quote_chars else quote[: quote_chars - 3] + "…",
        doc_type=chunk.doc_type,
        links=list(dict.fromkeys(u.rstrip(".,;)") for u in URL.findall(chunk.text)))[:3],
    )
