"""Calibrate the refusal and follow-up models on tuning data only; report them on held-out data.

Refusal: a logistic model over `assistant.refusal.FEATURES`, fitted on the own dev split, the
calibration half of NoMIRACL, XQuAD-de and MLQA-de (each set and answer/refuse class weighted
alike), with the threshold that best meets the targets on that same tuning data.
Follow-ups: a logistic model over `assistant.conversation.FEATURES`, fitted on the dev half of
eval/followups.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assistant.ranking import fuse
from assistant.refusal import FEATURES as REFUSAL_FEATURES
from assistant.refusal import features as refusal_features
from assistant.settings import ConversationSettings, RefusalSettings, RetrievalSettings
from eval.collect import Record

Matrix = npt.NDArray[np.float64]
# (set, expected) -> the share that must be decided right: answered, or refused
REFUSAL_TARGETS = {
    ("own-dev", "refuse"): 0.90, ("own-dev", "answer"): 0.95,
    ("nomiracl-calibrate", "refuse"): 0.80, ("nomiracl-calibrate", "answer"): 0.90,
    ("xquad", "answer"): 0.95, ("mlqa", "answer"): 0.95,
}
TUNING_SETS = {s for s, _ in REFUSAL_TARGETS}
# Which way each piece of refusal evidence may count (+1: only for answering, -1: only against)
REFUSAL_SIGNS = {
    "top_dense": 1, "max_dense": 1, "dense_margin": 1, "top_sentence": 1, "best_sentence": 1, "top_keyword": 1,
    "agree": 1, "top_coverage": 1, "best_coverage": 1, "type_match": 1, "unknown": -1, "unknown_specific": -1,
}


def set_name(record: Record) -> str:
    return f"own-{record.split}" if record.set == "own" else record.set


@dataclass
class Table:
    """Feature rows with their set, whether they should be answered, and their weight."""

    x: Matrix
    answer: npt.NDArray[np.bool_]
    sets: list[str]

    def cell(self, name: str, expected: str) -> npt.NDArray[np.bool_]:
        want = expected == "answer"
        mask: npt.NDArray[np.bool_] = np.array([s == name for s in self.sets]) & (self.answer == want)
        return mask


def refusal_table(records: Sequence[Record], retrieval: RetrievalSettings, top_n: int) -> Table:
    rows = []
    for r in records:
        order, _ = fuse(r.candidates, retrieval, r.language)
        values = refusal_features(r.question, r.language, r.candidates, order, top_n)
        rows.append([values[f] for f in REFUSAL_FEATURES])
    return Table(np.array(rows, dtype=float), np.array([r.expected == "answer" for r in records]),
                 [set_name(r) for r in records])


def fit_logistic(x: Matrix, y: npt.NDArray[np.bool_], weight: Matrix, c: float,
                 signs: Sequence[int] | None = None) -> tuple[Matrix, float]:
    """Weights and intercept on the raw features (fitted on standardised ones, L2 with strength 1/c).

    `signs` (+1, -1 or 0 per feature) constrains a weight to be non-negative, non-positive or
    free: evidence that can only speak for an answer must never count against one, whatever
    the quirks of one tuning set (NoMIRACL's non-relevant passages, for one, share many words
    with their questions).
    """
    from scipy.optimize import minimize
    from sklearn.linear_model import LogisticRegression

    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    if not any(signs or ()):
        model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / std, y, sample_weight=weight)
        w0 = model.coef_[0] / std
        return w0, float(model.intercept_[0] - (w0 * mean).sum())
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    t = y.astype(float)
    n = float(weight.sum())

    def loss(theta: Matrix) -> tuple[float, Matrix]:
        m = z @ theta
        p = 1 / (1 + np.exp(-m))
        nll = float(np.sum(weight * (np.logaddexp(0, m) - t * m))) / n
        reg = float(theta[:-1] @ theta[:-1]) / (2 * c * n)
        grad = z.T @ (weight * (p - t)) / n
        grad[:-1] += theta[:-1] / (c * n)
        return nll + reg, grad

    bounds = [((0, None) if s > 0 else (None, 0) if s < 0 else (None, None)) for s in (signs or [0] * x.shape[1])]
    theta = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)]).x
    w = theta[:-1] / std
    return w, float(theta[-1] - (w * mean).sum())


def cell_weights(table: Table, cells: Sequence[tuple[str, str]]) -> Matrix:
    """Every (set, expected) cell of the tuning data weighs the same in total."""
    weight = np.zeros(len(table.sets))
    for name, expected in cells:
        mask = table.cell(name, expected)
        if mask.any():
            weight[mask] = 1.0 / mask.sum()
    return weight * len(weight) / max(float(weight.sum()), 1e-9)


def rates(p: Matrix, table: Table, threshold: float, cells: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """The share decided right per cell: answered when answerable, refused when not."""
    out = {}
    for name, expected in cells:
        mask = table.cell(name, expected)
        if mask.any():
            right = p[mask] >= threshold if expected == "answer" else p[mask] < threshold
            out[(name, expected)] = float(right.mean())
    return out


# Every answerable tuning set must keep at least this share answered: refusing a question the
# guides answer is a sure failure, so where the evidence cannot separate answerable from
# unanswerable questions well enough to meet all targets, answering wins.
ANSWER_FLOOR = 0.95
# The similarity floor: below the best sentence of all but this percentage of answerable tuning
# questions, a question is off the corpus's topics ("Wie backe ich einen Apfelkuchen?")
FLOOR_PERCENTILE = 1.0


def choose_threshold(p: Matrix, table: Table, targets: dict[tuple[str, str], float]) -> float:
    """The threshold that refuses most (smallest shortfall against the refusal targets) while every
    answer cell keeps min(target, ANSWER_FLOOR) answered; without such a threshold, the lowest."""
    candidates = sorted(set(np.round(p, 4).tolist()))

    def answers_enough(t: float) -> bool:
        r = rates(p, table, t, [k for k in targets if k[1] == "answer"])
        return all(v >= min(targets[k], ANSWER_FLOOR) for k, v in r.items())

    def refuse_shortfall(t: float) -> tuple[float, float]:
        r = rates(p, table, t, list(targets))
        return sum(max(0.0, targets[k] - v) for k, v in r.items() if k[1] == "refuse"), -sum(r.values())

    feasible = [t for t in candidates if answers_enough(t)]
    return float(min(feasible, key=refuse_shortfall)) if feasible else float(candidates[0])


def calibrate_refusal(records: Sequence[Record], retrieval: RetrievalSettings, base: RefusalSettings,
                      c: float = 1.0) -> tuple[RefusalSettings, Table]:
    """The fitted refusal settings (weights, bias, threshold) and the full feature table."""
    table = refusal_table(records, retrieval, base.top_passages)
    tuning = np.array([s in TUNING_SETS for s in table.sets])
    sub = Table(table.x[tuning], table.answer[tuning], [s for s, t in zip(table.sets, tuning, strict=True) if t])
    signs = [REFUSAL_SIGNS.get(f, 0) for f in REFUSAL_FEATURES]
    w, b = fit_logistic(sub.x, sub.answer, cell_weights(sub, list(REFUSAL_TARGETS)), c, signs)
    p = 1 / (1 + np.exp(-(sub.x @ w + b)))
    # the floor first (questions far from every answerable one are refused anyway), then the threshold
    floors = {"min_best_sentence": _floor(sub, english=False), "min_best_sentence_en": _floor(sub, english=True)}
    p = np.where(_below_floor(sub, floors["min_best_sentence"], floors["min_best_sentence_en"]), 0.0, p)
    threshold = choose_threshold(p, sub, REFUSAL_TARGETS)
    weights = {f: round(float(v), 5) for f, v in zip(REFUSAL_FEATURES, w, strict=True)}
    update = {"weights": weights, "bias": round(b, 5), "threshold": round(threshold, 4), **floors}
    return base.model_copy(update=update), table


def _floor(table: Table, english: bool) -> float:
    """The similarity floor for one language: FLOOR_PERCENTILE of the best-sentence similarity
    over its answerable tuning questions (0 when there are too few to tell)."""
    best = table.x[:, REFUSAL_FEATURES.index("best_sentence")]
    mask = table.answer & ((table.x[:, REFUSAL_FEATURES.index("english")] > 0.5) == english)
    if mask.sum() < 10:
        return 0.0
    return float(np.floor(np.percentile(best[mask], FLOOR_PERCENTILE) * 1000) / 1000)


def _below_floor(table: Table, floor: float, floor_en: float) -> npt.NDArray[np.bool_]:
    english = table.x[:, REFUSAL_FEATURES.index("english")] > 0.5
    return np.asarray(table.x[:, REFUSAL_FEATURES.index("best_sentence")] < np.where(english, floor_en, floor))


def probabilities(table: Table, settings: RefusalSettings) -> Matrix:
    """The answer probability per row, 0 where the similarity floor refuses (as RefusalPolicy decides)."""
    w = np.array([settings.weights.get(f, 0.0) for f in REFUSAL_FEATURES])
    p = 1 / (1 + np.exp(-(table.x @ w + settings.bias)))
    return np.asarray(np.where(_below_floor(table, settings.min_best_sentence, settings.min_best_sentence_en), 0.0, p))


def calibrate_follow_ups(x: Matrix, y: npt.NDArray[np.bool_], names: Sequence[str], base: ConversationSettings,
                         c: float = 0.5) -> ConversationSettings:
    """Weights and threshold of the follow-up model, fitted on the dev pairs (classes weighted alike)."""
    weight = np.where(y, 0.5 / max(y.sum(), 1), 0.5 / max((~y).sum(), 1)) * len(y)
    w, b = fit_logistic(x, y, weight, c)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    # switches must never be merged (>= 0.95), real follow-ups kept (>= 0.9): favour the former
    def cost(t: float) -> tuple[float, float]:
        kept, merged = float((p[y] >= t).mean()), float((p[~y] >= t).mean())
        return max(0.0, merged - 0.05) * 2 + max(0.0, 0.9 - kept), merged - kept

    threshold = float(min(np.unique(np.round(p, 4)), key=cost))
    weights = {f: round(float(v), 5) for f, v in zip(names, w, strict=True)}
    return base.model_copy(update={"weights": weights, "bias": round(b, 5), "threshold": round(threshold, 4)})
