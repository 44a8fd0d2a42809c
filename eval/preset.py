"""`lotse eval tune`: collect, tune the fusion, calibrate refusal and follow-ups, write the preset.

Only tuning data decides anything (own dev split, XQuAD-de, MLQA-de, NoMIRACL's calibration
half, the dev follow-up pairs); held-out data (own test split, GermanQuAD test, NoMIRACL's
second half, the test follow-up pairs) is only reported, in tuning.md beside the preset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import AnswerEngine
from assistant.conversation import FEATURES as FOLLOW_UP_FEATURES
from assistant.settings import PRESETS, RetrievalSettings, Settings, preset_path, read_preset
from eval.calibrate import REFUSAL_TARGETS, Table, calibrate_follow_ups, calibrate_refusal, probabilities, rates
from eval.citations import GRID as CITATION_GRID
from eval.citations import calibrate as calibrate_citations
from eval.citations import citations_markdown, load_items
from eval.collect import Record, collect_all
from eval.compose_tune import Report, composer_markdown, tune_composer
from eval.datasets import ExternalSet
from eval.followups import load_pairs, pair_features
from eval.questions import Question
from eval.reader_tune import reader_markdown, tune_reader
from eval.tune import RETRIEVAL_FIELDS, groups, retrieval_table, tune, write_preset
from ingest.embedders import build_embedder

Progress = Callable[[str, int, int], None]


@dataclass
class TuningResult:
    settings: dict[str, Any]
    retrieval: dict[str, dict[str, dict[str, float]]]  # variant -> group -> metrics
    refusal: dict[str, float]  # "set / expected" -> share decided right
    follow_ups: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> rates
    citations: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> kept / removed
    chosen: str = ""
    composer: dict[str, float] = field(default_factory=dict)
    composer_report: Report = field(default_factory=dict)
    reader: dict[str, float] = field(default_factory=dict)  # the unit weights
    reader_report: Report = field(default_factory=dict)


def _refusal_report(table: Table, engine_settings: Settings) -> dict[str, float]:
    p = probabilities(table, engine_settings.refusal)
    cells = [(s, e) for s in sorted(set(table.sets)) for e in ("answer", "refuse")]
    return {f"{s} / {e}": round(v, 4) for (s, e), v in rates(p, table, engine_settings.refusal.threshold, cells).items()}


def _follow_ups(engine: AnswerEngine) -> tuple[Any, dict[str, dict[str, float]]]:
    pairs = load_pairs()
    x = np.array(pair_features(engine, pairs), dtype=float)
    y = np.array([p.follow_up for p in pairs])
    dev = np.array([p.split == "dev" for p in pairs])
    fitted = calibrate_follow_ups(x[dev], y[dev], FOLLOW_UP_FEATURES, engine.settings.conversation)
    w = np.array([fitted.weights[f] for f in FOLLOW_UP_FEATURES])
    merged = 1 / (1 + np.exp(-(x @ w + fitted.bias))) >= fitted.threshold
    report = {}
    for split in ("dev", "test"):
        m = np.array([p.split == split for p in pairs])
        report[split] = {"switches kept apart": round(float((~merged[m & ~y]).mean()), 4),
                         "follow-ups merged": round(float(merged[m & y].mean()), 4), "pairs": float(m.sum())}
    return fitted, report


def run_tuning(settings: Settings, engine: AnswerEngine, questions: Sequence[Question], sets: Sequence[ExternalSet],
               progress: Progress | None = None) -> TuningResult:
    """Tune everything on tuning data; the returned settings are what the preset will hold."""
    embedder = build_embedder(settings.embedder, settings.paths.models())
    records: list[Record] = collect_all(settings, engine, questions, sets, embedder, progress)
    by_group = groups(records)
    tuned = tune(by_group, settings.retrieval)
    best = max(tuned, key=lambda t: t.objective)
    # "before": the code's defaults (weighted RRF, k 5, keyword weight 1), i.e. Lotse without a preset
    variants: dict[str, Any] = {"dense": "dense", "keyword": "keyword", "before (no preset)": RetrievalSettings()}
    variants |= {t.strategy: t.settings for t in tuned}
    refusal, table = calibrate_refusal(records, best.settings, settings.refusal)
    chosen = settings.model_copy(update={"retrieval": best.settings, "refusal": refusal})
    tuned_engine = AnswerEngine(chosen, engine.index)
    follow_ups, follow_report = _follow_ups(tuned_engine)
    citations, citation_report = calibrate_citations(tuned_engine, load_items())
    chosen = chosen.model_copy(update={"citations": citations})
    unit_weights, unit_report = tune_reader(AnswerEngine(chosen, engine.index), questions)
    generator = chosen.generator.model_copy(update={"unit_weights": unit_weights})
    composer, composer_report = tune_composer(AnswerEngine(chosen.model_copy(update={"generator": generator}), engine.index), questions)
    values = {
        "retrieval": best.settings.model_dump(include=set(RETRIEVAL_FIELDS)),
        "refusal": refusal.model_dump(
            include={"weights", "bias", "threshold", "min_best_sentence", "min_best_sentence_en", "top_passages"}
        ),
        "conversation": follow_ups.model_dump(include={"weights", "bias", "threshold"}),
        "citations": citations.model_dump(include=set(CITATION_GRID)),
        "generator": {**composer, "unit_weights": unit_weights},
    }
    return TuningResult(values, retrieval_table(by_group, variants), _refusal_report(table, chosen), follow_report,
                        citation_report, best.strategy, composer, composer_report, unit_weights, unit_report)


def replace_section(text: str, section: str) -> str:
    """`text` with the "## " section that has `section`'s heading replaced by `section` (or added)."""
    heading = section.split("\n", 1)[0]
    lines = text.rstrip().split("\n") if text.strip() else []
    if heading not in lines:
        return ("\n".join(lines) + "\n\n" if lines else "") + section
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    before, rest = "\n".join(lines[:start]).rstrip(), "\n".join(lines[end:])
    return (before + "\n\n" if before else "") + section.rstrip() + "\n" + ("\n" + rest + "\n" if rest else "")


def save_stage(name: str, key: str, values: dict[str, Any], section: str) -> Path:
    """`lotse eval tune --only …`: the values of one settings section of the preset and their
    section of the tuning report replaced, everything else kept."""
    path = preset_path(name)
    data = read_preset(name)
    settings = dict(data.get("settings") or {})
    settings[key] = dict(settings.get(key) or {}) | values
    write_preset(path, settings, dict(data.get("about") or {}))
    md = path.with_name(f"{path.stem}-tuning.md")
    md.write_text(replace_section(md.read_text(encoding="utf-8") if md.exists() else "", section), encoding="utf-8")
    return path


def save(result: TuningResult, name: str, sets: Sequence[ExternalSet]) -> Path:
    """Write assistant/presets/<name>.yaml and tuning.md (the side-by-side tables) beside it."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else PRESETS / f"{name}.yaml"
    about = {
        "written_by": "lotse eval tune",
        "date": date.today().isoformat(),
        "tuned_on": "own dev split, XQuAD-de, MLQA-de dev, NoMIRACL-de calibration half, follow-up pairs (dev)",
        "held_out": "own test split, GermanQuAD test, NoMIRACL-de second half, follow-up pairs (test)",
        "fusion": result.chosen,
        "report": f"{path.stem}-tuning.md",
        "refusal_targets": {f"{s} / {e}": v for (s, e), v in REFUSAL_TARGETS.items()},
    }
    write_preset(path, result.settings, about)
    path.with_name(f"{path.stem}-tuning.md").write_text(tuning_markdown(result), encoding="utf-8")
    return path


def tuning_markdown(result: TuningResult) -> str:
    """Every fusion variant on every group (hit@1 / MRR@10), refusal and follow-up rates."""
    group_names = sorted({g for v in result.retrieval.values() for g in v})
    lines = ["# Abstimmung (lotse eval tune)", "", f"Gewählt: **{result.chosen}** (Ziel: Mittel aus hit@1 + MRR@10 über "
             "own-dev, xquad, mlqa). Zurückgehalten: own-test, germanquad.", "",
             "| Variante | " + " | ".join(group_names) + " |", "|---|" + "---:|" * len(group_names)]
    for variant, by_group in result.retrieval.items():
        cells = [f"{by_group[g]['hit@1']:.3f} / {by_group[g]['MRR@10']:.3f}" if g in by_group else "–" for g in group_names]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    lines += ["", "Je Zelle hit@1 / MRR@10.", "", "## Ablehnen (Anteil richtig entschieden)", "",
              "| Satz / soll | Anteil |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in result.refusal.items()]
    lines += ["", "## Folgefragen", "", "| Split | Themenwechsel getrennt | Folgefragen verbunden | Paare |", "|---|---:|---:|---:|"]
    lines += [
        f"| {s} | {r['switches kept apart']:.3f} | {r['follow-ups merged']:.3f} | {int(r['pairs'])} |" for s, r in result.follow_ups.items()
    ]
    text = "\n".join(lines) + "\n\n" + citations_markdown(result.citations, result.settings.get("citations", {}))
    if result.reader_report:
        text += "\n" + reader_markdown(result.reader, result.reader_report)
    return text + "\n" + composer_markdown(result.composer, result.composer_report) if result.composer_report else text
