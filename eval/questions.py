"""The evaluation question set: schema, loading, and validation against the corpus."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, Field

from ingest.chunking import SOURCE_HEADINGS, parse_sections
from ingest.types import Document

QUESTIONS_DIR = Path(__file__).parent / "questions"
Kind = Literal[
    "fact", "checklist", "template", "how-to", "multi-document", "multi-part", "vague", "follow-up", "unanswerable"
]
Split = Literal["dev", "test"]
L = TypeVar("L", bound="Labelled")


class Labelled(BaseModel):
    """A hand-written evaluation item: its id, language and fixed split (dev: tune, test: report)."""

    id: str
    lang: Literal["de", "en"]
    split: Split


def load_labelled(model: type[L], path: Path) -> list[L]:
    """The items of one YAML list file."""
    return [model.model_validate(item) for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []]


class Expected(BaseModel):
    doc: str = Field(description="Doc id (file stem) holding the answer.")
    section: str = Field(description="Exact heading text of the section holding the answer.")


class Question(BaseModel):
    id: str
    lang: Literal["de", "en"]
    kind: Kind
    question: str = Field(min_length=5)
    paraphrase: bool = False
    expected: list[Expected] = Field(default_factory=list)
    key_facts: list[str] = Field(default_factory=list)
    follows: str | None = None
    split: Split | None = Field(None, description="dev: tune on it; test: report only (fixed in the YAML).")
    also: list[Expected] = Field(
        default_factory=list, description="Further sections holding all key facts (found by `lotse eval relevance`)."
    )

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"

    @property
    def relevant(self) -> list[Expected]:
        """Every section that answers the question: the expected ones and those holding all key facts."""
        return [*self.expected, *(e for e in self.also if e not in self.expected)]


RELEVANCE = Path(__file__).parent / "relevance.yaml"


def load_questions(paths: Iterable[Path] | None = None, split: Split | None = None) -> list[Question]:
    """Questions from the given YAML files (default: every file in eval/questions/), in order,
    with the sections `eval/relevance.yaml` records as holding their key facts too."""
    files = list(paths) if paths is not None else sorted(QUESTIONS_DIR.glob("*.yaml"))
    stored = yaml.safe_load(RELEVANCE.read_text(encoding="utf-8")) if RELEVANCE.exists() else {}
    questions: list[Question] = []
    for path in files:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            question = Question.model_validate(item)
            question.also = [Expected.model_validate(e) for e in (stored or {}).get(question.id, [])]
            questions.append(question)
    return [q for q in questions if split is None or q.split == split]


def fact_matches(fact: str, text: str) -> bool:
    """Does a key fact (plain string, case-insensitive, or 're:' regex) occur in text?
    Markdown emphasis does not count: `**65 %**` holds "65 %"."""
    text = " ".join(re.sub(r"\*\*|__", "", text).split())
    if fact.startswith("re:"):
        return re.search(fact[3:], text, re.I) is not None
    return " ".join(fact.split()).lower() in text.lower()


def content_stems(text: str) -> set[str]:
    """Stems of a text's content words (no stop words, no numbers, 3+ letters), German Snowball."""
    from ingest.keyword import Analyzer

    analyzer = Analyzer("german")
    return {analyzer.stem(w) for w in analyzer.words(text) if len(w) >= 3 and w.isalpha()}


def shared_terms(question: str, passage: str) -> set[str]:
    """Content-word stems a question shares with a passage (empty for a true paraphrase)."""
    return content_stems(question) & content_stems(passage)


def section_texts(doc: Document) -> dict[str, str]:
    """Heading text -> text of that section including its subsections."""
    sections = parse_sections(doc)
    out: dict[str, str] = {}
    for section in sections:
        if len(section.path) < 2:
            continue
        inner = [s for s in sections if s.path[: len(section.path)] == section.path]
        out.setdefault(section.path[-1], "\n".join(
            [section.path[-1]] + [b.text for s in inner for b in s.blocks]
        ))
    # headings whose own body is empty still own their subsections
    for section in sections:
        for depth in range(2, len(section.path)):
            heading = section.path[depth - 1]
            if heading not in out:
                prefix = section.path[:depth]
                inner = [s for s in sections if s.path[:depth] == prefix]
                out[heading] = "\n".join([heading] + [b.text for s in inner for b in s.blocks])
    return out


def validate(questions: list[Question], docs: dict[str, Document]) -> list[str]:
    """Every problem with the question set, as readable lines (empty: valid)."""
    problems: list[str] = []
    seen: set[str] = set()
    sections = {doc_id: section_texts(doc) for doc_id, doc in docs.items()}
    for position, q in enumerate(questions):
        if q.id in seen:
            problems.append(f"{q.id}: doppelte id")
        seen.add(q.id)
        if q.answerable and (not q.expected or not (2 <= len(q.key_facts) <= 4)):
            problems.append(f"{q.id}: beantwortbare Frage braucht expected und 2–4 key_facts")
        if not q.answerable and (q.expected or q.key_facts):
            problems.append(f"{q.id}: unbeantwortbare Frage ohne expected/key_facts")
        if q.kind == "follow-up" and (position == 0 or questions[position - 1].id != q.follows):
            problems.append(f"{q.id}: follows muss die direkt vorhergehende Frage nennen")
        if q.kind == "multi-document" and len({e.doc for e in q.expected}) < 2:
            problems.append(f"{q.id}: multi-document braucht mindestens zwei Dokumente")
        texts: list[str] = []
        for exp in q.expected:
            if exp.doc not in docs:
                problems.append(f"{q.id}: Dokument {exp.doc} fehlt im Korpus")
            elif exp.section not in sections[exp.doc]:
                problems.append(f"{q.id}: Abschnitt '{exp.section}' fehlt in {exp.doc}")
            else:
                texts.append(sections[exp.doc][exp.section])
        for fact in q.key_facts:
            if texts and not any(fact_matches(fact, t) for t in texts):
                problems.append(f"{q.id}: key fact '{fact}' steht in keinem erwarteten Abschnitt")
    return problems


def _holding_sections(q: Question, docs: dict[str, Document], sections: dict[str, dict[str, str]]) -> list[Expected]:
    """The deepest sections of the corpus whose text holds every key fact of `q`."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for doc_id, doc in docs.items():
        for section in parse_sections(doc):
            path = section.path
            if len(path) < 2 or SOURCE_HEADINGS.match(path[-1]) or path[-1] == doc.title:
                continue
            text = sections[doc_id].get(path[-1], "")
            if all(fact_matches(f, text) for f in q.key_facts):
                found.append((doc_id, path))
    deepest = [(d, p) for d, p in found if not any(d == d2 and len(p2) > len(p) and p2[: len(p)] == p for d2, p2 in found)]
    return [Expected(doc=d, section=p[-1]) for d, p in dict.fromkeys(deepest)]


def find_relevance(questions: list[Question], docs: dict[str, Document]) -> dict[str, list[dict[str, str]]]:
    """Per answerable question, the sections beyond `expected` that hold all its key facts."""
    sections = {doc_id: section_texts(doc) for doc_id, doc in docs.items()}
    out: dict[str, list[dict[str, str]]] = {}
    for q in questions:
        if not q.answerable:
            continue
        extra = [e for e in _holding_sections(q, docs, sections) if e not in q.expected]
        if extra:
            out[q.id] = [e.model_dump() for e in extra]
    return out


def write_relevance(questions: list[Question], docs: dict[str, Document], path: Path | None = None) -> Path:
    """Store the found sections (eval/relevance.yaml), which `load_questions` reads back."""
    path = path or RELEVANCE
    header = (
        "# Written by `lotse eval relevance`: sections that hold all key facts of a question besides\n"
        "# its expected ones. They count as correct in retrieval and citation metrics. Do not edit.\n"
    )
    body = yaml.safe_dump(find_relevance(questions, docs), allow_unicode=True, sort_keys=True, width=200)
    path.write_text(header + body, encoding="utf-8")
    return path
