"""Measure dense, keyword (with/without compound splitting) and fused retrieval on the question set.

Prints a table and writes bench/results/fusion.json. Tuning uses the even-numbered questions,
and every variant is also reported on the odd-numbered ones (held out) and on all.
Run: .venv/bin/python bench/tune_fusion.py  (after `lotse ingest`)
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assistant.settings import load_settings
from eval.questions import load_questions
from eval.retrieval_eval import collect, fused, score
from ingest.index import open_index


def main() -> None:
    settings = load_settings()
    questions = load_questions()
    index = open_index(settings)
    rankings = collect(index, questions)
    tune = [q for i, q in enumerate(questions) if i % 2 == 0]
    held = [q for i, q in enumerate(questions) if i % 2 == 1]
    paraphrased = [q for q in questions if q.paraphrase]
    variants = {
        "dense": lambda qid: rankings.dense[qid],
        "keyword (stems)": lambda qid: rankings.keyword_plain[qid],
        "keyword (stems+compounds)": lambda qid: rankings.keyword[qid],
        "RRF 1:1 k=60": fused(rankings, 1.0, 1.0, 60),
    }
    grid = {}
    for kw, k in itertools.product((0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0), (5, 10, 20, 60)):
        grid[(kw, k)] = score(tune, rankings, fused(rankings, 1.0, kw, k))
    best_kw, best_k = max(grid, key=lambda key: (grid[key]["MRR@10"], grid[key]["hit@1"]))
    variants[f"RRF 1:{best_kw} k={best_k} (tuned)"] = fused(rankings, 1.0, best_kw, best_k)

    table = Table("variant", "set", "hit@1", "hit@5", "MRR@10", "nDCG@10", title="Retrieval on the question set")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, ranking in variants.items():
        results[name] = {}
        for set_name, subset in (("all", questions), ("held-out", held), ("paraphrased", paraphrased)):
            metrics = score(subset, rankings, ranking)
            results[name][set_name] = metrics
            table.add_row(name, set_name, *(f"{metrics[m]:.3f}" for m in ("hit@1", "hit@5", "MRR@10", "nDCG@10")))
    Console().print(table)
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "fusion.json").write_text(json.dumps({"best": {"keyword_weight": best_kw, "rrf_k": best_k}, "results": results,
                                                 "grid": {f"{a}|{b}": v for (a, b), v in grid.items()}}, indent=2))
    print(f"best on tuning half: keyword_weight={best_kw} rrf_k={best_k}")


if __name__ == "__main__":
    main()
