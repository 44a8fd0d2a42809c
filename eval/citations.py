"""Calibrating the citation check on paraphrased sentences (eval/citations.yaml).

Each item is an answer sentence as a language model writes it, citing one section: supported
(reworded, summarised, translated to English) or not (a number changed, the meaning negated, a
fact from another passage, a claim the section does not make). The thresholds are chosen on
the dev half and reported on the test half; the check itself is `CitationChecker` in production.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer import AnswerEngine
from assistant.citations import CitationChecker, Support
from assistant.passages import make_passages
from assistant.settings import CitationSettings
from assistant.types import Hit
from eval.questions import Labelled, load_labelled

ITEMS = Path(__file__).parent / "citations.yaml"
TARGETS = {"supported kept": 0.90, "unsupported removed": 0.95}


class Item(Labelled):
    doc: str
    section: str
    sentence: str
    supported: bool
    change: str


def load_items(path: Path | None = None) -> list[Item]:
    return load_labelled(Item, path or ITEMS)


@dataclass
class Measured:
    item: Item
    support: Support  # by the closest unit
    finer: Support  # by the closest sentence within a unit


def measure(engine: AnswerEngine, items: Sequence[Item]) -> list[Measured]:
    """Each sentence against the chunk of its cited section that suits it best."""
    by_section: dict[tuple[str, str], list[Hit]] = {}
    for chunk in engine.index.store.iter_all(with_text=True):
        if chunk.section_path:
            by_section.setdefault((chunk.doc_id, chunk.section_path[-1]), []).append(Hit(chunk, 1.0))
    out = []
    for item in items:
        passages = make_passages(by_section.get((item.doc, item.section), []))
        if not passages:
            raise KeyError(f"{item.id}: Abschnitt {item.doc} › {item.section} ist nicht im Index")
        supports = [(engine.checker.evidence(item.sentence, p), engine.checker.evidence(item.sentence, p, finer=True)) for p in passages]
        unit, finer = max(supports, key=lambda s: s[0].similarity)
        out.append(Measured(item, unit, finer))
    return out


def _kept(m: Measured, checker: CitationChecker) -> bool:
    """`CitationChecker.judge` on measured evidence."""
    return checker.supports(m.support, m.item.lang) or (m.support.numbers_ok and checker.supports(m.finer, m.item.lang))


def rates(measured: Sequence[Measured], checker: CitationChecker) -> dict[str, float]:
    kept = [_kept(m, checker) for m in measured if m.item.supported]
    removed = [not _kept(m, checker) for m in measured if not m.item.supported]
    return {"supported kept": round(float(np.mean(kept)), 4) if kept else 0.0,
            "unsupported removed": round(float(np.mean(removed)), 4) if removed else 0.0,
            "sentences": float(len(measured))}


GRID = {
    "min_similarity": (0.80, 0.82, 0.84, 0.86, 0.88, 0.90, 0.92, 0.94),
    "min_overlap": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
    "strict_similarity": (0.90, 0.92, 0.94, 0.96, 0.98, 1.0),
    "cross_lingual_similarity": (0.78, 0.80, 0.82, 0.84, 0.86, 0.88, 0.90, 0.92),
}


def calibrate(engine: AnswerEngine, items: Sequence[Item]) -> tuple[CitationSettings, dict[str, dict[str, float]]]:
    """Thresholds with the smallest shortfall against the targets on the dev items; rates per split."""
    measured = measure(engine, items)
    dev = [m for m in measured if m.item.split == "dev"]
    base = engine.settings.citations

    def cost(values: tuple[float, ...]) -> tuple[float, float]:
        checker = CitationChecker(engine.analysis, base.model_copy(update=dict(zip(GRID, values, strict=True))), "")
        r = rates(dev, checker)
        return sum(max(0.0, t - r[k]) for k, t in TARGETS.items()), -(r["supported kept"] + r["unsupported removed"])

    best = min(itertools.product(*GRID.values()), key=cost)
    chosen = base.model_copy(update=dict(zip(GRID, best, strict=True)))
    checker = CitationChecker(engine.analysis, chosen, "")
    report = {split: rates([m for m in measured if m.item.split == split], checker) for split in ("dev", "test")}
    for lang in ("de", "en"):
        report[f"test {lang}"] = rates([m for m in measured if m.item.split == "test" and m.item.lang == lang], checker)
    return chosen, report


def citations_markdown(report: dict[str, dict[str, float]], chosen: dict[str, float]) -> str:
    """The section of the tuning report on the citation check."""
    lines = ["## Zitatprüfung (umformulierte Sätze, eval/citations.yaml)", "",
             f"Gewählt auf dev: {', '.join(f'{k} = {v}' for k, v in chosen.items())} "
             f"(Ziel: {', '.join(f'{k} ≥ {v}' for k, v in TARGETS.items())}). test nur berichtet.", "",
             "| Teil | gedeckt und behalten | ungedeckt und entfernt | Sätze |", "|---|---:|---:|---:|"]
    lines += [f"| {s} | {r['supported kept']:.3f} | {r['unsupported removed']:.3f} | {int(r['sentences'])} |" for s, r in report.items()]
    return "\n".join(lines) + "\n"
