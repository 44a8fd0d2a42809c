"""The external gate in `make test`: fixed samples of the held-out German sets, through the real
pipeline with the shipped preset, must meet the minimums in eval/thresholds.yaml (`external:`).

The samples are small so CI stays fast (GermanQuAD test: its first 60 questions and their
paragraphs; NoMIRACL-de's second half: its first 20 questions and their 200 passages). With
fewer distractors the numbers sit above the full sets' (see `lotse eval external` and the
README); the minimums were measured on exactly these samples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import Settings
from eval.datasets import DATA_DIR, load_sets, sample
from eval.external import run_external
from eval.external_report import external_row
from eval.gate import check_external, format_violations, load_thresholds

pytestmark = pytest.mark.skipif(not DATA_DIR.exists(), reason="../shared/data is not beside the repository")
SAMPLES = {"germanquad": 60, "nomiracl-test": 20}


def test_held_out_samples_meet_the_external_minimums(corpus_settings: Settings, tmp_path: Path) -> None:
    sets = [sample(s, SAMPLES[s.name]) for s in load_sets(["germanquad", "nomiracl"]) if s.name in SAMPLES]
    results = run_external(corpus_settings, sets, end_to_end=False)
    rows = {r.name: external_row(r).__dict__ for r in results}
    limits = load_thresholds()
    assert set(limits.external) == set(rows), "eval/thresholds.yaml must name exactly the sampled sets"
    violations = check_external(rows, limits)
    assert not violations, f"{format_violations(violations)}\nGemessen: {rows}"
    germanquad = next(r for r in results if r.name.startswith("germanquad"))
    fused, dense, keyword = (germanquad.retrieval[m]["hit@1"] for m in ("fused", "dense", "keyword"))
    assert fused >= max(dense, keyword), "fusion must never be worse than its best part"
