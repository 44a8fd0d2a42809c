"""The follow-up test set (eval/followups.yaml): pairs of a previous question and a new one that
continues it or switches topic; features for calibration and the detector's results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from assistant.answer import AnswerEngine
from assistant.conversation import FEATURES, Turn
from assistant.language import detect_language
from eval.questions import Expected, Labelled, load_labelled

PAIRS = Path(__file__).parent / "followups.yaml"


class Pair(Labelled):
    previous: str
    question: str
    follow_up: bool
    expected: list[Expected] = Field(default_factory=list)


def load_pairs(path: Path | None = None) -> list[Pair]:
    return load_labelled(Pair, path or PAIRS)


def pair_features(engine: AnswerEngine, pairs: Sequence[Pair]) -> list[list[float]]:
    """The follow-up evidence of each pair, computed as the engine computes it."""
    rows = []
    for pair in pairs:
        language = detect_language(pair.question, engine.settings.answer.english_confidence)
        *_, values = engine.follow_up_evidence(pair.question, Turn(pair.previous), language)
        rows.append([values[f] for f in FEATURES])
    return rows


def detector_rates(engine: AnswerEngine, pairs: Sequence[Pair]) -> dict[str, float]:
    """Switches kept apart and real follow-ups merged, by the engine's own decision."""
    decided = []
    for pair, row in zip(pairs, pair_features(engine, pairs), strict=True):
        decided.append((pair.follow_up, engine.follow_ups.decide(dict(zip(FEATURES, row, strict=True))).follow_up))
    switches = [d for f, d in decided if not f]
    follow_ups = [d for f, d in decided if f]
    return {
        "switches kept apart": round(sum(not d for d in switches) / max(len(switches), 1), 4),
        "follow-ups merged": round(sum(follow_ups) / max(len(follow_ups), 1), 4),
        "pairs": float(len(pairs)),
    }
