"""Learning the composer's lead weights (assistant/reader.py) on the own dev split.

Each answerable question's units (of its first part, in its retrieved passages) form one
group; a unit is right when it holds one of the question's key facts (a list header, when its
list does: the composer gives the header with its list). A listwise softmax model (L2 penalty
chosen by 5-fold cross-validation on dev) learns which features make a unit the first one of
the answer. The test split is only reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from assistant.answer import AnswerEngine
from assistant.passages import Passage, Unit
from assistant.reader import weight_vector
from assistant.settings import UNIT_FEATURES, GeneratorSettings
from eval.questions import Question, fact_matches

PENALTIES = (0.001, 0.01, 0.1)
FOLDS = 5
Report = dict[str, dict[str, float]]  # "<variant> / <split>" -> metrics


@dataclass(frozen=True)
class Group:
    split: str
    matrix: np.ndarray  # one row per unit, columns UNIT_FEATURES
    right: np.ndarray  # the unit holds a key fact


def _gives(passage: Passage, unit: Unit) -> str:
    """What the composer gives for a unit: a list header brings its list."""
    i = passage.units.index(unit)
    items = list(itertools.takewhile(lambda u: u.kind == "item", passage.units[i + 1:]))
    return " ".join([unit.text] + [u.text for u in items]) if unit.text.rstrip().endswith(":") else unit.text


def collect(engine: AnswerEngine, questions: Sequence[Question]) -> list[Group]:
    """One group per answerable question (not a follow-up) whose passages hold a key fact."""
    reader = engine.extractive.composer.reader
    groups = []
    for q in questions:
        if not q.answerable or q.kind == "follow-up":
            continue
        prepared = engine.prepare(q.question)
        if not prepared.asks:
            continue
        units = reader.units(prepared.asks[0], prepared.passages)
        right = np.array([any(fact_matches(f, _gives(p, u)) for f in q.key_facts) for p, u in units.pairs], dtype=bool)
        if right.any():
            groups.append(Group(q.split or "", units.matrix, right))
    return groups


def _loss(w: np.ndarray, groups: Sequence[Group], penalty: float) -> tuple[float, np.ndarray]:
    """Mean -log P(a right unit is ranked first) under a softmax over each group, plus L2."""
    loss, grad = 0.0, np.zeros_like(w)
    for g in groups:
        z = g.matrix @ w
        p = np.exp(z - z.max())
        p /= p.sum()
        right = p * g.right
        loss -= np.log(right.sum() + 1e-12)
        grad -= right @ g.matrix / (right.sum() + 1e-12) - p @ g.matrix
    return loss / len(groups) + penalty * float(w @ w), grad / len(groups) + 2 * penalty * w


def fit(groups: Sequence[Group], penalty: float) -> np.ndarray:
    """Weights on the raw features (standardised for the fit), scaled so similarity weighs 1."""
    rows = np.vstack([g.matrix for g in groups])
    mean, std = rows.mean(0), rows.std(0) + 1e-9
    scaled = [Group(g.split, (g.matrix - mean) / std, g.right) for g in groups]
    w: np.ndarray = np.asarray(minimize(_loss, np.zeros(rows.shape[1]), args=(scaled, penalty), jac=True, method="L-BFGS-B").x) / std
    similarity = abs(float(w[UNIT_FEATURES.index("similarity")]))
    return w / similarity if similarity > 1e-9 else w


def quality(groups: Sequence[Group], w: np.ndarray) -> dict[str, float]:
    """Share of groups whose best unit is right, and whose best three hold a right one."""
    firsts = [bool(g.right[int(np.argmax(g.matrix @ w))]) for g in groups]
    threes = [bool(g.right[np.argsort(-(g.matrix @ w))[:3]].any()) for g in groups]
    n = max(len(groups), 1)
    return {"right first": round(sum(firsts) / n, 4), "right in top 3": round(sum(threes) / n, 4), "questions": float(len(groups))}


def _cross_validated(groups: Sequence[Group], penalty: float) -> float:
    scores = []
    for k in range(FOLDS):
        train = [g for i, g in enumerate(groups) if i % FOLDS != k]
        held = [g for i, g in enumerate(groups) if i % FOLDS == k]
        q = quality(held, fit(train, penalty))
        scores.append(q["right first"] + q["right in top 3"])
    return float(np.mean(scores))


def tune_reader(engine: AnswerEngine, questions: Sequence[Question]) -> tuple[dict[str, float], Report]:
    """Lead weights learned on own-dev, and how the code's default and they do per split."""
    groups = collect(engine, questions)
    dev = [g for g in groups if g.split == "dev"]
    penalty = max(PENALTIES, key=lambda p: _cross_validated(dev, p))
    chosen = fit(dev, penalty)
    before = weight_vector(GeneratorSettings().lead_weights)  # "before": the code's default, no preset
    report = {f"{name} / {split}": quality([g for g in groups if g.split == split], w)
              for name, w in (("before", before), ("chosen", chosen)) for split in ("dev", "test")}
    return {f: round(float(v), 5) for f, v in zip(UNIT_FEATURES, chosen, strict=True)}, report


def reader_markdown(chosen: dict[str, float], report: Report) -> str:
    """The section of the tuning report on the unit weights."""
    lines = ["## Einheiten-Gewichte (extraktiv)", "",
             "Gelernt auf own-dev (Softmax über die Einheiten je Frage; richtig = enthält einen Schlüsselfakt). "
             "own-test nur berichtet.", "", "| Merkmal | Gewicht |", "|---|---:|"]
    lines += [f"| {f} | {w:g} |" for f, w in chosen.items()]
    lines += ["", "| Variante / Split | richtige Einheit zuerst | unter den ersten drei | Fragen |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {m['right first']:.3f} | {m['right in top 3']:.3f} | {int(m['questions'])} |" for k, m in report.items()]
    return "\n".join(lines) + "\n"
