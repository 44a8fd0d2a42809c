"""Calibrate the refusal threshold and the citation-support thresholds on the question set.

Refusal: the evidence score (best unit similarity + key-term overlap) of answerable vs
unanswerable questions; the chosen threshold maximises balanced accuracy on the
even-numbered questions and is reported on the odd ones as well.
Citation support: each answerable question's key-fact sentence from its expected section
against that section (supported) and against the best chunk of another document (not).
Prints tables and writes bench/results/calibration.json. Run after `lotse ingest`.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from assistant.answer import AnswerEngine
from assistant.conversation import Turn
from assistant.passages import split_units, term_overlap
from assistant.settings import load_settings
from eval.questions import fact_matches, load_questions


def refusal_features(engine: AnswerEngine) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    history: list[Turn] = []
    for q in load_questions():
        if q.kind != "follow-up":
            history = []
        prepared = engine.prepare(q.question, history)
        rows.append({"id": q.id, "answerable": q.answerable, "lang": prepared.language,
                     "evidence": prepared.decision.evidence, "uncovered": prepared.decision.uncovered,
                     "refused": prepared.decision.refuse})
        history.append(Turn(q.question, condensed=prepared.query))
    return rows


def sweep(rows: list[dict[str, object]], feature: str, values: np.ndarray, refuse_above: bool) -> float:
    """The threshold with the best true-refusal minus false-refusal rate on these rows."""
    def rate(t: float) -> float:
        pos = [r for r in rows if r["answerable"]]
        neg = [r for r in rows if not r["answerable"]]
        hit = (lambda r: r[feature] >= t) if refuse_above else (lambda r: r[feature] < t)  # noqa: E731
        return float(np.mean([hit(r) for r in neg]) - np.mean([hit(r) for r in pos]))
    return float(max(values, key=rate))


def rates(rows: list[dict[str, object]]) -> dict[str, float]:
    pos = [r for r in rows if r["answerable"]]
    neg = [r for r in rows if not r["answerable"]]
    return {
        "true_refusals": float(np.mean([r["refused"] for r in neg])) if neg else 0.0,
        "false_refusals": float(np.mean([r["refused"] for r in pos])) if pos else 0.0,
        "n_unanswerable": len(neg),
        "n_answerable": len(pos),
    }


def support_pairs(engine: AnswerEngine) -> tuple[dict[str, list[tuple[float, float]]], list[tuple[float, float]]]:
    """(similarity, overlap) of claims against the passage they cite.

    The claim is the key-fact sentence of an answerable question's expected section. It is
    checked verbatim (what the extractive generator writes), shortened (a rough stand-in for
    an LLM's paraphrase), and cited to the best passage of another document (a wrong citation).
    """
    own: dict[str, list[tuple[float, float]]] = {"claim verbatim, own passage": [], "claim shortened, own passage": []}
    wrong: list[tuple[float, float]] = []
    scorer = engine.scorer

    def measure(claim: str, passage_text: str) -> tuple[float, float]:
        units = [u.text for u in split_units(passage_text)] or [passage_text]
        sims = scorer.vectors(units) @ scorer.vectors([claim])[0]
        return float(np.max(sims)), term_overlap(scorer.terms(claim), set(scorer.terms(passage_text)))

    for q in load_questions():
        if not q.answerable:
            continue
        hits = engine.retriever.retrieve(q.question, k=10).fused
        mine = [h for h in hits if any(e.doc == h.chunk.doc_id and e.section in h.chunk.section_path for e in q.expected)]
        other = [h for h in hits if h.chunk.doc_id not in {e.doc for e in q.expected}]
        if not mine or not other:
            continue
        claim = next((u.text for u in split_units(mine[0].chunk.text) if any(fact_matches(f, u.text) for f in q.key_facts)), None)
        if not claim or len(claim.split()) < 6:
            continue
        words = claim.split()
        own["claim verbatim, own passage"].append(measure(claim, mine[0].chunk.text))
        own["claim shortened, own passage"].append(measure(" ".join(words[2:-1]), mine[0].chunk.text))
        wrong.append(measure(claim, other[0].chunk.text))
    return own, wrong


def main() -> None:
    settings = load_settings()
    engine = AnswerEngine(settings)
    rows = refusal_features(engine)
    german = [r for i, r in enumerate(rows) if r["lang"] == "de" and i % 2 == 0]
    english = [r for i, r in enumerate(rows) if r["lang"] == "en"]
    suggested = {
        "max_uncovered (de, tuned on even questions)": sweep(german, "uncovered", np.arange(-0.5, 0.5, 0.05), True),
        "min_evidence_en (all English questions)": sweep(english, "evidence", np.arange(0.80, 0.90, 0.005), False),
    }
    table = Table("set", "questions", "true refusals", "false refusals", title="Refusals with the current settings")
    results: dict[str, object] = {"suggested": suggested, "settings": settings.refusal.model_dump()}
    for name, subset in (("German, even", [r for i, r in enumerate(rows) if r["lang"] == "de" and i % 2 == 0]),
                         ("German, odd (held out)", [r for i, r in enumerate(rows) if r["lang"] == "de" and i % 2 == 1]),
                         ("English", english), ("all", rows)):
        r = rates(subset)
        results[name] = r
        table.add_row(name, str(len(subset)), f"{r['true_refusals']:.3f}", f"{r['false_refusals']:.3f}")
    Console().print(table)
    for name, value in suggested.items():
        print(f"suggested {name}: {value:.3f}")
    pos, neg = support_pairs(engine)
    sims = Table("pairs", "n", "similarity p10/p50/p90", "overlap p10/p50/p90", "accepted", title="Citation support calibration")
    cs = settings.citations
    accept = lambda s, o: s >= cs.strict_similarity or (s >= cs.min_similarity and o >= cs.min_overlap)  # noqa: E731
    for name, pairs in [*pos.items(), ("claim cited to another document's passage", neg)]:
        a = np.array(pairs)
        accepted = float(np.mean([accept(s, o) for s, o in pairs]))
        results[f"support: {name}"] = accepted
        sims.add_row(name, str(len(pairs)), " / ".join(f"{v:.3f}" for v in np.percentile(a[:, 0], [10, 50, 90])),
                     " / ".join(f"{v:.2f}" for v in np.percentile(a[:, 1], [10, 50, 90])), f"{accepted:.3f}")
    Console().print(sims)
    grid = []
    for sim, ov, strict in itertools.product(np.arange(0.84, 0.95, 0.01), (0.4, 0.5, 0.6, 0.7, 0.8), (0.93, 0.95, 0.97)):
        ok = lambda s, o: s >= strict or (s >= sim and o >= ov)  # noqa: E731
        kept = float(np.mean([ok(s, o) for s, o in pos["claim shortened, own passage"]]))
        wrong = float(np.mean([ok(s, o) for s, o in neg]))
        grid.append((kept - wrong, round(float(sim), 2), ov, strict, kept, wrong))
    best = max(grid)
    results["support_suggested"] = {"min_similarity": best[1], "min_overlap": best[2], "strict_similarity": best[3],
                                    "accepted_shortened": best[4], "accepted_wrong": best[5]}
    print("suggested citation thresholds:", results["support_suggested"])
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps({"results": results, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
