"""The evaluation report: report.json, report.md and chart.png in one output directory.

`build_report` turns a run (questions, results, run settings) into a JSON-able dict;
`write_report` writes the three files; `compare_reports` diffs two report dicts (metric by
metric, and the questions that flipped between pass and fail).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.questions import Question
from eval.runner import QuestionResult, summarize

REPORT_VERSION = 1
# metrics that only mean something for answerable / unanswerable questions
ANSWERABLE_METRICS = (
    "hit@1", "hit@5", "MRR@10", "nDCG@10", "key-fact recall", "supported sentences",
    "citation precision", "citation recall", "false refusals",
)
UNANSWERABLE_METRICS = ("true refusals",)
LOWER_IS_BETTER = ("false refusals", "invented citations", "hygiene violations", "words per answer")
NEUTRAL = ("questions",)
# columns of the per-group tables and bars of the chart
GROUP_COLUMNS = (
    "questions", "hit@1", "hit@5", "MRR@10", "key-fact recall", "citation precision",
    "citation recall", "true refusals", "false refusals", "passed",
)
CHART_METRICS = ("hit@5", "MRR@10", "key-fact recall", "citation recall", "passed")
ANSWER_START = 200


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER or metric.endswith("(s)")


def _group_metrics(questions: Sequence[Question], results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """summarize() for one group, with metrics that do not apply to the group set to None."""
    metrics: dict[str, float | None] = dict(summarize(questions, results))
    if not any(r.answerable for r in results):
        metrics.update({m: None for m in ANSWERABLE_METRICS if m in metrics})
    if not any(not r.answerable for r in results):
        metrics.update({m: None for m in UNANSWERABLE_METRICS if m in metrics})
    return metrics


def _groups(questions: Sequence[Question], results: Sequence[QuestionResult], key: str) -> dict[str, dict[str, float | None]]:
    values: list[str] = []
    for r in results:
        value = str(getattr(r, key))
        if value not in values:
            values.append(value)
    return {v: _group_metrics(questions, [r for r in results if str(getattr(r, key)) == v]) for v in values}


def failure_reasons(entry: dict[str, Any]) -> list[str]:
    """Why a question failed, in words (from its report entry)."""
    if entry["passed"]:
        return []
    if not entry["answerable"]:
        return ["beantwortet statt abgelehnt"]
    reasons: list[str] = []
    if entry["refused"]:
        reasons.append("abgelehnt")
    else:
        if entry["facts_missing"]:
            reasons.append("Fakten fehlen: " + ", ".join(entry["facts_missing"]))
        if not entry["expected_cited"]:
            reasons.append("kein erwarteter Abschnitt zitiert")
    if entry["invented"]:
        reasons.append(f"{entry['invented']} erfundene Zitat(e)")
    return reasons


def build_report(
    questions: Sequence[Question],
    results: Sequence[QuestionResult],
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole report as a JSON-able dict."""
    by_id = {q.id: q for q in questions}
    entries = []
    for r in results:
        q = by_id.get(r.id)
        entry = r.as_dict()
        entry["expected"] = [e.model_dump() for e in q.expected] if q else []
        entry["key_facts"] = list(q.key_facts) if q else []
        entry["follows"] = q.follows if q else None
        entry["reasons"] = failure_reasons(entry)
        entries.append(entry)
    return {
        "version": REPORT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": dict(run or {}),
        "metrics": summarize(questions, results),
        "by_split": _groups(questions, results, "split"),
        "by_kind": _groups(questions, results, "kind"),
        "by_lang": _groups(questions, results, "lang"),
        "by_paraphrase": {
            ("umformuliert" if k == "True" else "wörtlich"): v
            for k, v in _groups(questions, results, "paraphrase").items()
        },
        "questions": entries,
    }


def load_report(path: Path) -> dict[str, Any]:
    """An earlier report.json (a run directory holding one works too)."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if "metrics" not in data:
        raise ValueError(f"{path} ist kein Lotse-Auswertungsbericht (report.json)")
    return data  # type: ignore[no-any-return]


# --- comparison -------------------------------------------------------------------------------


@dataclass
class MetricDiff:
    metric: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 4)

    @property
    def tolerance(self) -> float:
        """Changes up to this count as 'same': below display precision for rates, and for
        latencies 20 % of the earlier value (at least 50 ms), as timings are noisy."""
        if self.metric.endswith("(s)"):
            return max(0.05, 0.2 * abs(self.before or 0.0))
        if self.metric in ("questions", "invented citations"):
            return 0.0
        return 0.0005

    @property
    def verdict(self) -> str:
        """'better', 'worse' or 'same' (also 'same' for neutral or missing metrics)."""
        delta = self.delta
        if delta is None or self.metric in NEUTRAL or abs(delta) <= self.tolerance + 1e-9:
            return "same"
        better = delta < 0 if lower_is_better(self.metric) else delta > 0
        return "better" if better else "worse"


@dataclass
class Comparison:
    metrics: list[MetricDiff]
    now_failing: list[str] = field(default_factory=list)  # passed before, fail now
    now_passing: list[str] = field(default_factory=list)  # failed before, pass now
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    before_created: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "before_created": self.before_created,
            "metrics": [
                {"metric": d.metric, "before": d.before, "after": d.after, "delta": d.delta, "verdict": d.verdict}
                for d in self.metrics
            ],
            "now_failing": self.now_failing, "now_passing": self.now_passing,
            "added": self.added, "removed": self.removed,
        }


def compare_reports(before: dict[str, Any], after: dict[str, Any]) -> Comparison:
    """Metric by metric diff and pass↔fail flips between two report dicts."""
    names = list(after["metrics"]) + [m for m in before["metrics"] if m not in after["metrics"]]
    diffs = [MetricDiff(m, before["metrics"].get(m), after["metrics"].get(m)) for m in names]
    old = {q["id"]: bool(q["passed"]) for q in before.get("questions", [])}
    new = {q["id"]: bool(q["passed"]) for q in after.get("questions", [])}
    return Comparison(
        metrics=diffs,
        now_failing=[qid for qid, ok in new.items() if qid in old and old[qid] and not ok],
        now_passing=[qid for qid, ok in new.items() if qid in old and not old[qid] and ok],
        added=[qid for qid in new if qid not in old],
        removed=[qid for qid in old if qid not in new],
        before_created=str(before.get("created", "")),
    )


# --- Markdown ---------------------------------------------------------------------------------


def fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric in ("questions", "invented citations", "hygiene violations"):
        return str(int(value))
    if metric == "words per answer":
        return f"{value:.1f}"
    return f"{value:.3f}"


def fmt_delta(metric: str, delta: float | None) -> str:
    if delta is None:
        return "–"
    if metric in ("questions", "invented citations"):
        return f"{int(delta):+d}"
    return f"{delta:+.3f}"


def _escape(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def metrics_table(metrics: dict[str, float | None], splits: dict[str, dict[str, float | None]] | None = None) -> str:
    """All metrics, overall and per split (dev: tuned on; test: reported and gated)."""
    names = [n for n in ("dev", "test") if n in (splits or {})]
    lines = ["| Metrik | alle | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for m, v in metrics.items():
        lines.append(f"| {m} | {fmt(m, v)} | " + " | ".join(fmt(m, (splits or {})[n].get(m)) for n in names) + " |")
    return "\n".join(lines)


def group_table(title: str, groups: dict[str, dict[str, float | None]]) -> str:
    lines = [f"| {title} | " + " | ".join(GROUP_COLUMNS) + " |", "|---|" + "---:|" * len(GROUP_COLUMNS)]
    for name, metrics in groups.items():
        lines.append(f"| {name} | " + " | ".join(fmt(c, metrics.get(c)) for c in GROUP_COLUMNS) + " |")
    return "\n".join(lines)


VERDICT_DE = {"better": "besser", "worse": "schlechter", "same": "="}


def comparison_markdown(comparison: Comparison) -> str:
    lines = [f"Verglichen mit dem Lauf vom {comparison.before_created or '?'}.", "",
             "| Metrik | vorher | nachher | Δ | Bewertung |", "|---|---:|---:|---:|---|"]
    for d in comparison.metrics:
        lines.append(f"| {d.metric} | {fmt(d.metric, d.before)} | {fmt(d.metric, d.after)} | "
                     f"{fmt_delta(d.metric, d.delta)} | {VERDICT_DE[d.verdict]} |")
    lines.append("")
    for label, ids in (("Jetzt nicht mehr bestanden", comparison.now_failing),
                       ("Jetzt bestanden", comparison.now_passing),
                       ("Neu im Fragenset", comparison.added),
                       ("Nicht mehr im Fragenset", comparison.removed)):
        lines.append(f"- **{label}** ({len(ids)}): " + (", ".join(ids) if ids else "–"))
    return "\n".join(lines)


def _failure_markdown(entry: dict[str, Any]) -> str:
    head = f"### {entry['id']} ({entry['kind']}, {entry['lang']}{', umformuliert' if entry['paraphrase'] else ''})"
    lines = [head, "", f"**Frage:** {_escape(entry['question'])}", ""]
    lines.append("**Warum:** " + "; ".join(entry.get("reasons") or failure_reasons(entry)))
    lines.append("")
    lines.append(f"Erwartet ({entry.get('split') or '–'}):")
    if entry["answerable"]:
        for exp in entry.get("expected", []):
            lines.append(f"- Abschnitt: `{exp['doc']}` › {_escape(exp['section'])}")
        facts = [f"~~{f}~~ (fehlt)" if f in entry["facts_missing"] else f for f in entry.get("key_facts", [])]
        lines.append("- Fakten: " + (", ".join(facts) if facts else "–"))
    else:
        lines.append("- Ablehnung (die Unterlagen beantworten die Frage nicht)")
    lines.append("")
    lines.append("Ergebnis:")
    lines.append(f"- abgelehnt: {'ja' if entry['refused'] else 'nein'}")
    answer = " ".join(entry["answer"].split())
    start = answer[:ANSWER_START] + ("…" if len(answer) > ANSWER_START else "")
    lines.append(f"- Antwortbeginn: {_escape(start)}")
    lines.append("- zitiert: " + ("; ".join(_escape(c) for c in entry["cited"]) if entry["cited"] else "–"))
    if entry["answerable"]:
        ranked = entry.get("ranked", [])
        expected_keys = {f"{e['doc']}#{e['section']}" for e in entry.get("expected", [])}
        rank = next((n for n, key in enumerate(ranked, 1) if key in expected_keys), None)
        lines.append(f"- erwarteter Abschnitt in der Suche: {f'Rang {rank}' if rank else 'nicht unter den ersten ' + str(len(ranked))}")
        top = [key.replace("#", " › ") if key in expected_keys else key.split(":")[0] for key in ranked[:3]]
        lines.append("- beste Treffer: " + ("; ".join(_escape(k) for k in top) if top else "–"))
    return "\n".join(lines)


def render_markdown(report: dict[str, Any], comparison: Comparison | None = None) -> str:
    run = report.get("run", {})
    failing = [q for q in report["questions"] if not q["passed"]]
    lines = [
        "# Lotse – Auswertung",
        "",
        (f"Erstellt {report['created']} · {len(report['questions'])} Fragen · "
         f"{len(failing)} nicht bestanden"),
        "",
        "## Gesamt (dev: abgestimmt, test: berichtet und im Gate)",
        "",
        metrics_table(report["metrics"], report.get("by_split")),
        "",
    ]
    if comparison is not None:
        lines += ["## Vergleich", "", comparison_markdown(comparison), ""]
    lines += [
        "## Nach Fragetyp", "", group_table("Typ", report["by_kind"]), "",
        "## Nach Sprache", "", group_table("Sprache", report["by_lang"]), "",
        "## Wörtlich und umformuliert", "", group_table("Formulierung", report["by_paraphrase"]), "",
        "![Kennzahlen](chart.png)", "",
        f"## Nicht bestandene Fragen ({len(failing)})", "",
    ]
    if not failing:
        lines += ["Alle Fragen bestanden.", ""]
    for entry in failing:
        lines += [_failure_markdown(entry), ""]
    lines += ["## Laufeinstellungen", "", "| Einstellung | Wert |", "|---|---|"]
    lines += [f"| {k} | {_escape(', '.join(map(str, v)) if isinstance(v, list) else str(v))} |" for k, v in run.items()]
    lines.append("")
    return "\n".join(lines)


# --- chart ------------------------------------------------------------------------------------


def write_chart(report: dict[str, Any], path: Path) -> None:
    """Bars of key metrics per question kind, and a histogram of total answer latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    kinds = list(report["by_kind"])
    fig, (bars, hist) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [2.2, 1]})
    width = 0.8 / len(CHART_METRICS)
    x = np.arange(len(kinds))
    for i, metric in enumerate(CHART_METRICS):
        values = [report["by_kind"][k].get(metric) for k in kinds]
        heights = [v if v is not None else 0.0 for v in values]
        bars.bar(x + (i - (len(CHART_METRICS) - 1) / 2) * width, heights, width, label=metric)
    bars.set_xticks(x, [f"{k}\n(n={int(report['by_kind'][k]['questions'] or 0)})" for k in kinds], fontsize=8)
    bars.set_ylim(0, 1.18)
    bars.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    bars.set_title("Kennzahlen nach Fragetyp")
    bars.legend(fontsize=8, loc="upper center", ncol=len(CHART_METRICS), frameon=False)
    bars.grid(axis="y", alpha=0.3)
    totals = [q.get("timings", {}).get("total", 0.0) for q in report["questions"]]
    hist.hist(totals or [0.0], bins=min(30, max(5, len(totals) // 4)), color="tab:gray")
    hist.set_title("Antwortzeit je Frage")
    hist.set_xlabel("Sekunden")
    hist.set_ylabel("Fragen")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- writing ----------------------------------------------------------------------------------


@dataclass
class WrittenReport:
    report: dict[str, Any]
    directory: Path
    comparison: Comparison | None = None

    @property
    def json_path(self) -> Path:
        return self.directory / "report.json"

    @property
    def markdown_path(self) -> Path:
        return self.directory / "report.md"

    @property
    def chart_path(self) -> Path:
        return self.directory / "chart.png"


def write_report(
    out_dir: Path,
    questions: Sequence[Question],
    results: Sequence[QuestionResult],
    run: dict[str, Any] | None = None,
    compare_with: Path | dict[str, Any] | None = None,
) -> WrittenReport:
    """Write report.json, report.md and chart.png into out_dir (created if needed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(questions, results, run)
    comparison = None
    if compare_with is not None:
        before = compare_with if isinstance(compare_with, dict) else load_report(compare_with)
        comparison = compare_reports(before, report)
        report["comparison"] = comparison.as_dict()
    written = WrittenReport(report, out_dir, comparison)
    written.json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    written.markdown_path.write_text(render_markdown(report, comparison), encoding="utf-8")
    write_chart(report, written.chart_path)
    return written


def run_info(engine: Any, question_files: Sequence[Path] | None = None, **extra: Any) -> dict[str, Any]:
    """The settings of a run worth recording: generator, index, embedder, retrieval, refusal."""
    settings = engine.settings
    gen = settings.generator
    info: dict[str, Any] = {"generator": gen.backend, "preset": settings.preset}
    if gen.backend == "openai":
        info["model"] = f"{gen.openai.model} @ {gen.openai.base_url}"
    info.update({
        "index": engine.index.name,
        "embedder": engine.index.embedder.name,
        "corpus": str(settings.paths.corpus_dir),
        "retrieval": (f"{settings.retrieval.fusion}, keyword {settings.retrieval.keyword_weight} "
                      f"(en {settings.retrieval.keyword_weight_en}), depth {settings.retrieval.depth}, "
                      f"passages {settings.retrieval.passages}"),
        "reranker": settings.retrieval.reranker_model or "–",
        "refusal": (f"logistic over {len(settings.refusal.weights)} features, threshold {settings.refusal.threshold}"
                    if settings.refusal.weights else "never (untuned)"),
        "questions": [str(p) for p in question_files] if question_files else "eval/questions/*.yaml",
    })
    info.update(extra)
    return info
