"""`lotse eval tune --only composer|citations`: the choice on own-dev and what it writes into the preset."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from assistant.settings import GeneratorSettings
from eval import compose_tune, preset
from eval.citations import citations_markdown
from eval.questions import Question


def _metrics(passed: float, recall: float, violations: float) -> dict[str, float]:
    return {"key-fact recall": recall, "passed": passed, "key fact first": 0.3, "hygiene violations": violations,
            "words per answer": 60.0}


def test_the_best_dev_value_that_breaks_no_more_rules_is_chosen_and_the_engine_is_left_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = GeneratorSettings(max_sentences=5, margin=0.15)  # e.g. a preset's values: "before" is still the default
    engine: Any = SimpleNamespace(extractive=SimpleNamespace(composer=SimpleNamespace(settings=settings)))
    by_config = {(3, 0.05): _metrics(0.30, 0.40, 2), (5, 0.15): _metrics(0.50, 0.60, 3), (4, 0.1): _metrics(0.40, 0.50, 2)}
    runs = 0

    def measure(engine: Any, questions: list[Question]) -> dict[str, dict[str, float]]:
        nonlocal runs
        runs += 1
        assert {q.split for q in questions} == {"dev", "test"}  # asked together, in order
        dev = by_config.get((settings.max_sentences, settings.margin), _metrics(0.1, 0.1, 0))
        return {"dev": dev, "test": _metrics(0.9, 0.9, 0)}  # the test split never decides

    monkeypatch.setattr(compose_tune, "measure", measure)
    questions = [Question(id=f"q-{s}", lang="de", question="Was gilt?", kind="fact", split=s, key_facts=["x"]) for s in ("dev", "test")]
    chosen, report = compose_tune.tune_composer(engine, questions)
    assert chosen == {"max_sentences": 4, "margin": 0.1}  # (5, 0.15) is better but breaks a rule more often
    assert (settings.max_sentences, settings.margin) == (5, 0.15)
    assert set(report) == {"before / dev", "chosen / dev", "before / test", "chosen / test"}
    assert report["chosen / dev"]["passed"] == 0.40 and runs == 1 + 16


def test_only_the_composer_values_and_report_section_are_replaced(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    preset.write_preset(path, {"retrieval": {"fusion": "adaptive"}, "generator": {"max_sentences": 3}}, {"written_by": "x"})
    md = tmp_path / "p-tuning.md"
    md.write_text("# Abstimmung\n\nFusion-Tabelle\n\n## Antworttext (extraktiv)\n\nalt\n", encoding="utf-8")
    report = {"before / dev": _metrics(0.3, 0.4, 0), "chosen / dev": _metrics(0.4, 0.5, 0)}
    preset.save_stage(str(path), "generator", {"max_sentences": 4, "margin": 0.15}, compose_tune.composer_markdown(
        {"max_sentences": 4, "margin": 0.15}, report))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["settings"] == {"retrieval": {"fusion": "adaptive"}, "generator": {"max_sentences": 4, "margin": 0.15}}
    assert data["about"] == {"written_by": "x"}
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Abstimmung\n\nFusion-Tabelle\n\n## Antworttext") and "alt" not in text
    assert "max_sentences = 4" in text and "| chosen / dev | 0.5 | 0.4 |" in text


def test_a_stage_in_the_middle_of_the_report_is_replaced_in_place(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    preset.write_preset(path, {"citations": {"min_similarity": 0.86}, "generator": {"max_sentences": 5}}, {})
    md = tmp_path / "p-tuning.md"
    md.write_text("# Abstimmung\n\n## Zitatprüfung (umformulierte Sätze, eval/citations.yaml)\n\nALTER INHALT\n\n"
                  "## Antworttext (extraktiv)\n\nbleibt\n", encoding="utf-8")
    values = {"min_similarity": 0.9, "min_overlap": 0.6, "strict_similarity": 0.96, "cross_lingual_similarity": 0.88}
    report = {"dev": {"supported kept": 0.85, "unsupported removed": 0.72, "sentences": 102.0}}
    preset.save_stage(str(path), "citations", values, citations_markdown(report, values))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["settings"] == {"citations": values, "generator": {"max_sentences": 5}}
    text = md.read_text(encoding="utf-8")
    assert "ALTER INHALT" not in text and text.index("min_similarity = 0.9") < text.index("## Antworttext") < text.index("bleibt")
    assert "| dev | 0.850 | 0.720 | 102 |" in text
