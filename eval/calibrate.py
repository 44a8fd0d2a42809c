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


def fit_logistic(x: Matrix, y: npt.NDArray[np.bool_], weight: Matrix, c: float) -> tuple[Matrix, float]:
    """Weights and intercept on the raw features (fitted on standardised ones)."""
    from sklearn.linear_model import LogisticRegression

    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / std, y, sample_weight=weight)
    w = model.coef_[0] / std
    return w, float(model.intercept_[0] - (w * mean).sum())


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


def choose_threshold(p: Matrix, table: Table, targets: dict[tuple[str, str], float]) -> float:
    """The threshold with the smallest total shortfall against the targets (then the best rates)."""
    def cost(t: float) -> tuple[float, float]:
        r = rates(p, table, t, list(targets))
        return sum(max(0.0, targets[k] - v) for k, v in r.items()), -sum(r.values())

    return float(min(np.unique(np.round(p, 4)), key=cost))


def calibrate_refusal(records: Sequence[Record], retrieval: RetrievalSettings, base: RefusalSettings,
                      c: float = 1.0) -> tuple[RefusalSettings, Table]:
    """The fitted refusal settings (weights, bias, threshold) and the full feature table."""
    table = refusal_table(records, retrieval, base.top_passages)
    tuning = np.array([s in TUNING_SETS for s in table.sets])
    sub = Table(table.x[tuning], table.answer[tuning], [s for s, t in zip(table.sets, tuning, strict=True) if t])
    w, b = fit_logistic(sub.x, sub.answer, cell_weights(sub, list(REFUSAL_TARGETS)), c)
    p = 1 / (1 + np.exp(-(sub.x @ w + b)))
    threshold = choose_threshold(p, sub, REFUSAL_TARGETS)
    weights = {f: round(float(v), 5) for f, v in zip(REFUSAL_FEATURES, w, strict=True)}
    return base.model_copy(update={"weights": weights, "bias": round(b, 5), "threshold": round(threshold, 4)}), table


def probabilities(table: Table, settings: RefusalSettings) -> Matrix:
    w = np.array([settings.weights.get(f, 0.0) for f in REFUSAL_FEATURES])
    return np.asarray(1 / (1 + np.exp(-(table.x @ w + settings.bias))))


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
