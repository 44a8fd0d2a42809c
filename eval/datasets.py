"""External German question sets, read in their own formats from ../shared/data/.

SQuAD-style files (XQuAD-de, MLQA-de dev, GermanQuAD test): the paragraphs are the corpus and
each question's own paragraph is its relevant passage; the answers give an end-to-end check.
NoMIRACL-de: every question's ten passages go into one corpus; a question is to be answered
(`expected: answer`) or refused (`expected: refuse`). Its `query_id`s sorted as strings split
it: the first half calibrates, the second half is held out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ingest.errors import IngestCode, LotseError

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
Role = Literal["tune", "held-out", "calibrate"]


@dataclass(frozen=True)
class ExternalPassage:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class ExternalQuestion:
    id: str
    question: str
    relevant: frozenset[str] = frozenset()  # passage ids; empty when unknown
    answers: tuple[str, ...] = ()
    expected: Literal["answer", "refuse"] = "answer"


@dataclass
class ExternalSet:
    """One external set: its corpus and its questions."""

    name: str
    role: Role
    passages: list[ExternalPassage]
    questions: list[ExternalQuestion]
    source: str = ""
    corpus_name: str = ""  # sets that share a corpus (NoMIRACL's halves) share this
    kind: Literal["squad", "nomiracl"] = "squad"
    notes: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for p in self.passages:
            digest.update(f"{p.id}\0{p.title}\0{p.text}\0".encode())
        return digest.hexdigest()[:12]


@dataclass(frozen=True)
class SetSpec:
    name: str
    file: str
    kind: Literal["squad", "nomiracl"]
    role: Role


SETS: tuple[SetSpec, ...] = (
    SetSpec("xquad", "xquad.de.json", "squad", "tune"),
    SetSpec("mlqa", "mlqa.dev.de.json", "squad", "tune"),
    SetSpec("germanquad", "germanquad.test.json", "squad", "held-out"),
    SetSpec("nomiracl", "nomiracl.de.test.json", "nomiracl", "held-out"),
)


def _format_error(path: Path, expected: str, detail: str) -> LotseError:
    return LotseError(
        IngestCode.CONFIGURATION,
        f"{path.name}: unbekanntes Format ({detail}); erwartet wird {expected}.",
        f"{path.name}: unknown format ({detail}); expected {expected}.",
    )


def _read_json(path: Path, expected: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LotseError(
            IngestCode.CONFIGURATION,
            f"Datensatz {path} nicht gefunden (liegt ../shared/data neben dem Repository?).",
            f"Data set {path} not found (is ../shared/data next to the repository?).",
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _format_error(path, expected, f"kein gültiges JSON: {type(exc).__name__}") from exc


SQUAD = "SQuAD-JSON: data[].paragraphs[].{context, qas[].{id, question, answers[]}}"


def _squad_paragraphs(path: Path, data: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(paragraph id, title, paragraph) of a SQuAD file, or a clear format error."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise _format_error(path, SQUAD, "kein Feld 'data' mit einer Liste")
    for a, article in enumerate(data["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise _format_error(path, SQUAD, f"data[{a}] hat keine 'paragraphs'")
        title = str(article.get("title") or "")
        for n, paragraph in enumerate(paragraphs):
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
                raise _format_error(path, SQUAD, f"data[{a}].paragraphs[{n}] hat keinen 'context'")
            pid = str(paragraph.get("document_id") or f"{title or a}-{n}")
            yield pid, title, paragraph


def load_squad(path: Path, name: str, role: Role) -> ExternalSet:
    """A SQuAD v1/v2-style file: paragraphs become passages, questions point to their own."""
    data = _read_json(path, SQUAD)
    passages: dict[str, ExternalPassage] = {}
    questions: list[ExternalQuestion] = []
    for pid, title, paragraph in _squad_paragraphs(path, data):
        pid = pid if pid not in passages else f"{pid}-{len(passages)}"
        passages[pid] = ExternalPassage(pid, title, paragraph["context"])
        for qa in paragraph.get("qas") or []:
            if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or qa.get("is_impossible"):
                continue
            answers = tuple(str(a.get("text", "")) for a in qa.get("answers") or [] if isinstance(a, dict))
            questions.append(ExternalQuestion(str(qa.get("id", len(questions))), qa["question"], frozenset({pid}), answers))
    if not questions:
        raise _format_error(path, SQUAD, "keine Fragen gefunden")
    return ExternalSet(name, role, list(passages.values()), questions, str(path), corpus_name=name)


NOMIRACL = "NoMIRACL-JSON: [{query_id, question, expected: answer|refuse, passages[{docid, title, text}]}]"


def _nomiracl_entries(path: Path, data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not data:
        raise _format_error(path, NOMIRACL, "keine Liste von Fragen")
    for n, entry in enumerate(data):
        ok = isinstance(entry, dict) and {"query_id", "question", "expected", "passages"} <= set(entry)
        if not ok or entry["expected"] not in ("answer", "refuse") or not isinstance(entry["passages"], list):
            raise _format_error(path, NOMIRACL, f"Eintrag {n} unvollständig")
    return sorted(data, key=lambda e: str(e["query_id"]))


def load_nomiracl(path: Path) -> tuple[ExternalSet, ExternalSet]:
    """(calibration half, held-out half): one corpus of all passages, split by sorted query id."""
    entries = _nomiracl_entries(path, _read_json(path, NOMIRACL))
    passages: dict[str, ExternalPassage] = {}
    for entry in entries:
        for p in entry["passages"]:
            passages.setdefault(str(p["docid"]), ExternalPassage(str(p["docid"]), str(p.get("title", "")), str(p["text"])))
    questions = [
        ExternalQuestion(str(e["query_id"]), str(e["question"]), frozenset(str(p["docid"]) for p in e["passages"]),
                         expected=e["expected"])
        for e in entries
    ]
    half = len(questions) // 2
    corpus = list(passages.values())
    return (
        ExternalSet("nomiracl-calibrate", "calibrate", corpus, questions[:half], str(path), corpus_name="nomiracl", kind="nomiracl"),
        ExternalSet("nomiracl-test", "held-out", corpus, questions[half:], str(path), corpus_name="nomiracl", kind="nomiracl"),
    )


def load_sets(names: list[str] | None = None, data_dir: Path | None = None) -> list[ExternalSet]:
    """The named sets (default: all) from `data_dir` (default ../shared/data)."""
    data_dir = data_dir or DATA_DIR
    wanted = names or [s.name for s in SETS]
    unknown = [n for n in wanted if n not in {s.name for s in SETS}]
    if unknown:
        known = ", ".join(s.name for s in SETS)
        raise LotseError(IngestCode.CONFIGURATION, f"Unbekannter Datensatz: {', '.join(unknown)} (bekannt: {known}).",
                         f"Unknown data set: {', '.join(unknown)} (known: {known}).")
    out: list[ExternalSet] = []
    for spec in SETS:
        if spec.name not in wanted:
            continue
        path = data_dir / spec.file
        if spec.kind == "squad":
            out.append(load_squad(path, spec.name, spec.role))
        else:
            out.extend(load_nomiracl(path))
    return out


def sample(xset: ExternalSet, questions: int) -> ExternalSet:
    """A fixed, smaller version of a set for a fast gate: its first `questions` questions and only
    the passages they point to (their own paragraph, or their ten NoMIRACL passages)."""
    chosen = xset.questions[:questions]
    wanted = {p for q in chosen for p in q.relevant}
    passages = [p for p in xset.passages if p.id in wanted]
    name = f"{xset.name} (Stichprobe {len(chosen)})"
    return ExternalSet(name, xset.role, passages, chosen, xset.source, f"{xset.corpus_name}-sample{questions}", xset.kind)
