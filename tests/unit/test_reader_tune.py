"""Learning the lead weights: fitted on dev groups only, and they rank the right unit first."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

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


def test_only_dev_decides_and_the_report_shows_both_splits(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = _groups("dev", 40, 3)
    test = [Group("test", g.matrix, np.roll(g.right, 1)) for g in _groups("test", 40, 4)]  # a different rule
    monkeypatch.setattr(reader_tune, "collect", lambda engine, questions: dev + test)
    chosen, report = reader_tune.tune_reader(SimpleNamespace(), [])  # type: ignore[arg-type]
    assert set(chosen) == set(UNIT_FEATURES)
    assert report["chosen / dev"]["right first"] > 0.9 > report["chosen / test"]["right first"]
    assert set(report) == {"before / dev", "before / test", "chosen / dev", "chosen / test"}
    text = reader_markdown(chosen, report)
    assert text.startswith("## Einheiten-Gewichte") and "| dense |" in text and "| chosen / test |" in text
    assert GeneratorSettings(unit_weights=chosen).unit_weights == chosen


def test_unknown_features_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown unit features"):
        GeneratorSettings(unit_weights={"sparkle": 1.0})


