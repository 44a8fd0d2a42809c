"""The side-by-side table of `lotse eval external`: own question set and external sets, each with
dense, keyword and fused retrieval and the end-to-end result (external.json/.md/.png)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.external import SetResult
from eval.questions import Question
from eval.runner import QuestionResult, summarize

ROLE_DE = {"tune": "Abstimmung", "calibrate": "Kalibrierung", "held-out": "zurückgehalten", "dev": "Abstimmung",
           "test": "zurückgehalten"}


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    name: str
    role: str
    questions: int
    dense: float | None  # hit@1
    keyword: float | None
    fused: float | None
    fused_hit5: float | None
    fused_mrr: float | None
    answered: float | None  # answerable questions answered
    refused: float | None  # unanswerable questions refused
    correct: float | None  # own: passed; SQuAD sets: answer holds a gold span


def own_rows(questions: Sequence[Question], results: Sequence[QuestionResult]) -> list[Row]:
    """The project's question set: dev, test and the test split's paraphrased questions."""
    groups = {
        "eigene Fragen dev": ("dev", [r for r in results if r.split == "dev"]),
        "eigene Fragen test": ("test", [r for r in results if r.split == "test"]),
        "eigene Fragen test, umformuliert": ("test", [r for r in results if r.split == "test" and r.paraphrase]),
    }
    rows = []
    for name, (role, group) in groups.items():
        if not group:
            continue
        m = summarize(questions, group)
        answerable = [r for r in group if r.answerable]
        unanswerable = [r for r in group if not r.answerable]
        rows.append(Row(
            name, role, len(group), m.get("dense hit@1"), m.get("keyword hit@1"), m.get("hit@1"), m.get("hit@5"), m.get("MRR@10"),
            round(1 - m["false refusals"], 4) if answerable else None, m["true refusals"] if unanswerable else None, m["passed"],
        ))
    return rows


def external_row(result: SetResult) -> Row:
    r, e = result.retrieval, result.end_to_end

    def get(method: str, metric: str) -> float | None:
        return r[method][metric] if method in r else None

    return Row(result.name, result.role, result.questions, get("dense", "hit@1"), get("keyword", "hit@1"),
               get("fused", "hit@1"), get("fused", "hit@5"), get("fused", "MRR@10"),
               e.get("answered"), e.get("refused"), e.get("answer holds gold span"))


COLUMNS = (("Satz", "name"), ("Rolle", "role"), ("Fragen", "questions"), ("dicht hit@1", "dense"),
           ("Stichwort hit@1", "keyword"), ("fusioniert hit@1", "fused"), ("fusioniert hit@5", "fused_hit5"),
           ("fusioniert MRR@10", "fused_mrr"), ("beantwortet (soll)", "answered"), ("abgelehnt (soll)", "refused"),
           ("richtig", "correct"))


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return ROLE_DE.get(str(value), str(value))


def markdown(rows: Sequence[Row], info: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(c for c, _ in COLUMNS) + " |", "|---|---|" + "---:|" * (len(COLUMNS) - 2)]
    lines += ["| " + " | ".join(_cell(getattr(row, f)) for _, f in COLUMNS) + " |" for row in rows]
    notes = [
        "", "„richtig“: eigene Fragen bestanden (Fakten, Zitat, keine erfundene Quelle); SQuAD-Sätze: die Antwort "
        "enthält eine Goldantwort. NoMIRACL: Passagen ohne Relevanzurteile je Passage, daher nur Antworten/Ablehnen.",
        "", "Einstellungen: " + ", ".join(f"{k} {v}" for k, v in info.items()),
    ]
    return "# Lotse – Auswertung auf eigenen und externen Sätzen\n\n" + "\n".join(lines + notes) + "\n"


def write_chart(rows: Sequence[Row], path: Path) -> None:
    """hit@1 of dense, keyword and fused per set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shown = [r for r in rows if r.fused is not None]
    x = np.arange(len(shown))
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(shown)), 4.5))
    for i, (label, field) in enumerate((("dicht", "dense"), ("Stichwort", "keyword"), ("fusioniert", "fused"))):
        ax.bar(x + (i - 1) * 0.27, [getattr(r, field) or 0.0 for r in shown], 0.27, label=label)
    ax.set_xticks(x, [r.name.replace("eigene Fragen ", "eigen\n") for r in shown], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("hit@1")
    ax.legend(fontsize=8, ncol=3, frameon=False, loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(rows: Sequence[Row], info: dict[str, Any], out_dir: Path) -> Path:
    """external.json, external.md and external.png in out_dir; returns the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"settings": info, "rows": [row.__dict__ for row in rows]}
    (out_dir / "external.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "external.md").write_text(markdown(rows, info), encoding="utf-8")
    write_chart(rows, out_dir / "external.png")
    return out_dir / "external.md"
