"""Learning the lead weights: fitted on dev groups only, and they rank the right unit first."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from assistant.reader import weight_vector
from assistant.settings import UNIT_FEATURES, GeneratorSettings
from eval import reader_tune
from eval.reader_tune import Group, fit, quality, reader_markdown


def _groups(split: str, n: int, seed: int) -> list[Group]:
    """Groups of 8 units where the right one has the highest `dense` (and similarity is noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        m = rng.normal(size=(8, len(UNIT_FEATURES)))
        right = np.zeros(8, dtype=bool)
        right[int(np.argmax(m[:, UNIT_FEATURES.index("dense")]))] = True
        out.append(Group(split, m, right))
    return out


def test_the_fit_finds_the_feature_that_marks_the_right_unit() -> None:
    dev, test = _groups("dev", 60, 1), _groups("test", 60, 2)
    w = fit(dev, 0.01)
    assert quality(test, w)["right first"] > 0.9
    assert abs(w[UNIT_FEATURES.index("similarity")]) == pytest.approx(1.0)  # scaled to similarity's weight
    assert w[UNIT_FEATURES.index("dense")] > 3 * max(abs(w[i]) for i, f in enumerate(UNIT_FEATURES) if f not in ("dense", "similarity"))


def _engine(weights: dict[str, float]) -> Any:
    return SimpleNamespace(extractive=SimpleNamespace(composer=SimpleNamespace(reader=SimpleNamespace(weights=weight_vector(weights)))))


def _answers(passed: float) -> dict[str, dict[str, float]]:
    metrics = {"key-fact recall": passed, "passed": passed, "key fact first": 0.3, "hygiene violations": 0.0, "words per answer": 60.0}
    return {"dev": metrics, "test": {**metrics, "passed": 1.0 - passed}}  # the test split never decides


def test_only_dev_decides_and_the_report_shows_both_splits(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = _groups("dev", 40, 3)
    test = [Group("test", g.matrix, np.roll(g.right, 1)) for g in _groups("test", 40, 4)]  # a different rule
    monkeypatch.setattr(reader_tune, "collect", lambda engine, questions: dev + test)
    current = {**dict.fromkeys(UNIT_FEATURES, 0.0), "similarity": 1.0}
    monkeypatch.setattr(reader_tune, "end_to_end", lambda engine, questions, w: _answers(0.4 if w == current else 0.5))
    chosen, report = reader_tune.tune_reader(_engine(current), [])
    assert set(chosen) == set(UNIT_FEATURES) and chosen != current
    assert report["fitted / dev"]["right first"] > 0.9 > report["fitted / test"]["right first"]
    assert {"before / dev", "current / test", "fitted / dev", "answers, fitted / dev", "answers, current / test"} <= set(report)
    text = reader_markdown(chosen, report)
    assert text.startswith("## Einheiten-Gewichte") and "| dense |" in text and "| fitted / test |" in text
    assert "| answers, current / dev | 0.4 | 0.4 |" in text
    assert GeneratorSettings(unit_weights=chosen).unit_weights == chosen


def test_fitted_weights_that_answer_worse_leave_the_current_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_tune, "collect", lambda engine, questions: _groups("dev", 40, 5) + _groups("test", 10, 6))
    current = {"similarity": 1.0, "dense": 0.5, "fused": 0.25}
    monkeypatch.setattr(reader_tune, "end_to_end", lambda engine, questions, w: _answers(0.6 if w["fused"] == 0.25 else 0.5))
    chosen, report = reader_tune.tune_reader(_engine(current), [])
    assert chosen == {**dict.fromkeys(UNIT_FEATURES, 0.0), **current}  # ranks units worse, answers better
    assert report["fitted / dev"]["right first"] > report["current / dev"]["right first"]


def test_unknown_features_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown unit features"):
        GeneratorSettings(unit_weights={"sparkle": 1.0})


