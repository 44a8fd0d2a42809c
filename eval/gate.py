"""The quality gate: metric thresholds from eval/thresholds.yaml and the violations of a run.

File format: top-level `metric: minimum` pairs (or the same inside a `min:` section), and a
`max:` section for metrics where lower is better (false refusals, invented citations)::

    hit@5: 0.80
    max:
      invented citations: 0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

THRESHOLDS = Path(__file__).parent / "thresholds.yaml"


@dataclass(frozen=True)
class Thresholds:
    minimum: dict[str, float] = field(default_factory=dict)
    maximum: dict[str, float] = field(default_factory=dict)
    external: dict[str, dict[str, float]] = field(default_factory=dict)  # set row -> column -> minimum
    preset: str = ""  # the preset the thresholds were measured with

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Thresholds:
        data = dict(data or {})
        maximum = data.pop("max", None) or {}
        minimum = data.pop("min", None) or {}
        external = data.pop("external", None) or {}
        preset = str(data.pop("preset", "") or "")
        for key, value in data.items():
            if isinstance(value, Mapping):
                raise TypeError(f"unbekannter Abschnitt '{key}' in den Schwellenwerten (erlaubt: min, max, external)")
            minimum[key] = value
        return cls(
            {str(k): float(v) for k, v in minimum.items()}, {str(k): float(v) for k, v in maximum.items()},
            {str(s): {str(k): float(v) for k, v in cols.items()} for s, cols in external.items()}, preset,
        )


@dataclass(frozen=True)
class Violation:
    metric: str
    value: float | None  # None: the run did not report this metric
    limit: float
    bound: str  # "min" or "max"

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.metric}: fehlt im Ergebnis (Schwelle {self.bound} {self.limit:g})"
        sign = "<" if self.bound == "min" else ">"
        label = "Minimum" if self.bound == "min" else "Maximum"
        return f"{self.metric} = {self.value:.4g} {sign} {label} {self.limit:g}"


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The thresholds in a YAML file (default eval/thresholds.yaml)."""
    path = Path(path) if path is not None else THRESHOLDS
    return Thresholds.from_mapping(yaml.safe_load(path.read_text(encoding="utf-8")))


def check(metrics: Mapping[str, float | None], thresholds: Thresholds) -> list[Violation]:
    """Every threshold the metrics miss (empty: the gate passes)."""
    violations: list[Violation] = []
    for metric, limit in thresholds.minimum.items():
        value = metrics.get(metric)
        if value is None or value < limit - 1e-9:
            violations.append(Violation(metric, value, limit, "min"))
    for metric, limit in thresholds.maximum.items():
        value = metrics.get(metric)
        if value is None or value > limit + 1e-9:
            violations.append(Violation(metric, value, limit, "max"))
    return violations


def check_external(rows: Mapping[str, Mapping[str, float | None]], thresholds: Thresholds) -> list[Violation]:
    """Every external minimum a run misses (rows: set name -> column -> value)."""
    return [
        Violation(f"{name}: {column}", rows.get(name, {}).get(column), limit, "min")
        for name, columns in thresholds.external.items()
        for column, limit in columns.items()
        if (value := rows.get(name, {}).get(column)) is None or value < limit - 1e-9
    ]


def format_violations(violations: list[Violation]) -> str:
    if not violations:
        return "Qualitätsschwellen eingehalten."
    return "Qualitätsschwellen verletzt:\n" + "\n".join(f"  - {v}" for v in violations)
