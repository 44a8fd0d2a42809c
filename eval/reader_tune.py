"""Learning the composer's unit weights (assistant/reader.py) on the own dev split.

Each answerable question's units (of its first part, in its retrieved passages) form one
group; a unit is right when its own text holds one of the question's key facts. One score
both picks the answer's first line and ranks the lines after it, so a listwise softmax model
learns two things at once: a right unit first (-log of the probability mass on right units)
and every right unit high (cross-entropy against the uniform distribution over them). Its L2
penalty is chosen by 5-fold cross-validation on dev; the test split is only reported.
(Counting a list header as right when its list is made headers lead and lists crowd out
direct answers: dev key-fact recall 0.571 -> 0.458.)

Ranking units is not answering: the composer builds lists, gathers items and adds support
around the best unit. A feature that ranked units better under cross-validation (question
bigrams: 1.123 -> 1.153) did not answer better, and on 2026-12-01 weights refitted on the day's
index answered worse than the shipped ones fitted on an earlier index (dev recall 0.560 against
0.592). So the fitted weights replace the engine's current ones only when the answers on own-dev
get better (passed + key-fact recall, as the composer's tuning counts them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from assistant.answer import AnswerEngine
from assistant.reader import weight_vector
from assistant.settings import UNIT_FEATURES, GeneratorSettings
from eval import compose_tune
from eval.questions import Question, fact_matches

PENALTIES = (0.001, 0.01, 0.1)
FOLDS = 5
Report = dict[str, dict[str, float]]  # "<variant> / <split>" -> metrics


@dataclass(frozen=True)
class Group:
    split: str
    matrix: np.ndarray  # one row per unit, columns UNIT_FEATURES
    right: np.ndarray  # the unit holds a key fact


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
        right = np.array([any(fact_matches(f, u.text) for f in q.key_facts) for _, u in units.pairs], dtype=bool)
        if right.any():
            groups.append(Group(q.split or "", units.matrix, right))
    return groups


def _loss(w: np.ndarray, groups: Sequence[Group], penalty: float) -> tuple[float, np.ndarray]:
    """Per group, under a softmax over its units: -log P(a right unit is first) plus the
    cross-entropy of the uniform distribution over the right units; the mean, plus L2."""
    loss, grad = 0.0, np.zeros_like(w)
    for g in groups:
        z = g.matrix @ w
        p = np.exp(z - z.max())
        p /= p.sum()
        right = p * g.right
        target = g.right / g.right.sum()
        loss -= np.log(right.sum() + 1e-12) + float(target @ np.log(p + 1e-12))
        grad -= right @ g.matrix / (right.sum() + 1e-12) + target @ g.matrix - 2 * (p @ g.matrix)
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


def end_to_end(engine: AnswerEngine, questions: Sequence[Question], weights: dict[str, float]) -> dict[str, dict[str, float]]:
    """The answers' metrics per split with these unit weights (the engine's are restored)."""
    reader = engine.extractive.composer.reader
    kept = reader.weights
    reader.weights = weight_vector(weights)
    try:
        return compose_tune.measure(engine, questions)
    finally:
        reader.weights = kept


def tune_reader(engine: AnswerEngine, questions: Sequence[Question]) -> tuple[dict[str, float], Report]:
    """Unit weights learned on own-dev, kept only if they answer own-dev better than the engine's
    current ones; how the code's default, the current and the fitted weights do per split."""
    groups = collect(engine, questions)
    dev = [g for g in groups if g.split == "dev"]
    penalty = max(PENALTIES, key=lambda p: _cross_validated(dev, p))
    fitted = fit(dev, penalty)
    current = engine.extractive.composer.reader.weights
    weights = {name: {f: round(float(v), 5) for f, v in zip(UNIT_FEATURES, w, strict=True)}
               for name, w in (("current", current), ("fitted", fitted))}
    answers = {name: end_to_end(engine, questions, w) for name, w in weights.items()}
    better = compose_tune.objective(answers["fitted"]["dev"]) > compose_tune.objective(answers["current"]["dev"])
    before = weight_vector(GeneratorSettings().unit_weights)  # "before": the code's default, no preset
    report = {f"{name} / {split}": quality([g for g in groups if g.split == split], w)
              for name, w in (("before", before), ("current", current), ("fitted", fitted)) for split in ("dev", "test")}
    report |= {f"answers, {name} / {split}": m[split] for name, m in answers.items() for split in ("dev", "test")}
    return weights["fitted" if better else "current"], report


def reader_markdown(chosen: dict[str, float], report: Report) -> str:
    """The section of the tuning report on the unit weights."""
    lines = ["## Einheiten-Gewichte (extraktiv)", "",
             "Gelernt auf own-dev (Softmax über die Einheiten je Frage: eine richtige zuerst und alle richtigen oben; "
             "richtig = enthält selbst einen Schlüsselfakt). Die beste Einheit ist die erste Zeile, die nächsten stützen sie. "
             "Die gelernten Gewichte ersetzen die bisherigen nur, wenn die Antworten auf own-dev besser werden "
             "(bestanden + Schlüsselfakten). own-test nur berichtet.", "", "| Merkmal | Gewicht |", "|---|---:|"]
    lines += [f"| {f} | {w:g} |" for f, w in chosen.items()]
    units = {k: m for k, m in report.items() if "right first" in m}
    answers = {k: m for k, m in report.items() if "right first" not in m}
    lines += ["", "| Variante / Split | richtige Einheit zuerst | unter den ersten drei | Fragen |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {m['right first']:.3f} | {m['right in top 3']:.3f} | {int(m['questions'])} |" for k, m in units.items()]
    if answers:
        shown = compose_tune.SHOWN
        lines += ["", "| Antworten / Split | " + " | ".join(shown) + " |", "|---|" + "---:|" * len(shown)]
        lines += [f"| {k} | " + " | ".join(f"{m[f]:g}" for f in shown) + " |" for k, m in answers.items()]
    return "\n".join(lines) + "\n"
