"""Gaps in the guides: refused and 👎-rated questions from the log, clustered by topic.

`collect_gaps` reads the question log (web and Slack), `cluster_gaps` groups similar
questions (average-linkage agglomerative clustering on the embedder's query vectors, merged
while the mean cosine similarity stays above a threshold), `gaps_markdown` writes the report
for guide authors and `candidates_yaml` turns 👎 items into draft eval questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import yaml

from assistant.feedback import FeedbackStore, LoggedQuestion

DEFAULT_THRESHOLD = 0.87  # multilingual-e5: same topic ≳ 0.89, unrelated questions ≲ 0.84
EXAMPLES = 3
COMMENTS = 5
ANSWER_START = 160


class QueryEmbedder(Protocol):
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class GapCluster:
    items: list[LoggedQuestion]
    label: str  # the most central wording
    cohesion: float = 1.0  # mean similarity of the items to their centroid

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def refused(self) -> int:
        return sum(1 for i in self.items if i.refused)

    @property
    def disliked(self) -> int:
        return sum(1 for i in self.items if i.rating is not None and i.rating < 0)

    @property
    def channels(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.channel] = out.get(item.channel, 0) + 1
        return out

    @property
    def languages(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.language] = out.get(item.language, 0) + 1
        return out

    def examples(self, n: int = EXAMPLES) -> list[str]:
        """Up to n distinct wordings, the central one first."""
        seen: set[str] = set()
        out: list[str] = []
        for text in [self.label] + [i.question for i in self.items]:
            key = " ".join(text.lower().split())
            if key not in seen:
                seen.add(key)
                out.append(text)
            if len(out) == n:
                break
        return out

    def comments(self, n: int = COMMENTS) -> list[str]:
        return [i.comment for i in self.items if i.comment][:n]

    @property
    def last_seen(self) -> datetime:
        return max(i.created_at for i in self.items)


def is_gap(item: LoggedQuestion) -> bool:
    """Refused, or rated 👎."""
    return item.refused or (item.rating is not None and item.rating < 0)


def collect_gaps(store: FeedbackStore, days: int = 90) -> list[LoggedQuestion]:
    """Refused and 👎-rated questions of the last `days` days, newest first."""
    return [item for item in store.logged(days) if is_gap(item)]


def agglomerate(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage clustering on cosine similarity, merging while the best pair's mean
    similarity is at least `threshold`. Clusters as lists of row indices, input order kept."""
    n = len(vectors)
    if n == 0:
        return []
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    sim = (unit @ unit.T).astype(np.float64)
    np.fill_diagonal(sim, -np.inf)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    active = np.ones(n, dtype=bool)
    while len(members) > 1:
        masked = np.where(active[:, None] & active[None, :], sim, -np.inf)
        flat = int(np.argmax(masked))
        a, b = divmod(flat, n)
        if masked[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        size_a, size_b = len(members[a]), len(members[b])
        # Lance–Williams update for average linkage
        merged = (size_a * sim[a] + size_b * sim[b]) / (size_a + size_b)
        sim[a, :] = merged
        sim[:, a] = merged
        sim[a, a] = -np.inf
        active[b] = False
        sim[b, :] = -np.inf
        sim[:, b] = -np.inf
        members[a] = members[a] + members.pop(b)
    return [sorted(m) for _, m in sorted(members.items())]


def cluster_gaps(items: Sequence[LoggedQuestion], embedder: QueryEmbedder, threshold: float = DEFAULT_THRESHOLD) -> list[GapCluster]:
    """Topic clusters of the gap items, largest first (ties: most recent first)."""
    if not items:
        return []
    vectors = np.asarray(embedder.embed_queries([i.question for i in items]), dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    clusters: list[GapCluster] = []
    for group in agglomerate(unit, threshold):
        centroid = unit[group].mean(axis=0)
        scores = unit[group] @ centroid / (np.linalg.norm(centroid) or 1.0)
        order = [group[i] for i in np.argsort(-scores, kind="stable")]
        clusters.append(GapCluster([items[i] for i in order], items[order[0]].question, round(float(scores.mean()), 3)))
    clusters.sort(key=lambda c: (-c.count, -c.last_seen.timestamp()))
    return clusters


def _answer_start(text: str, n: int = ANSWER_START) -> str:
    text = " ".join((text or "").split())
    return text[:n] + ("…" if len(text) > n else "")


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def gaps_markdown(clusters: Sequence[GapCluster], days: int, threshold: float, logged_total: int | None = None) -> str:
    """The report for guide authors: one section per topic, most frequent first."""
    items = sum(c.count for c in clusters)
    refused = sum(c.refused for c in clusters)
    disliked = sum(c.disliked for c in clusters)
    lines = [
        "# Lotse – Lücken in den Leitfäden",
        "",
        (f"Erstellt {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC · Zeitraum: letzte {days} Tage · "
         f"Ähnlichkeitsschwelle {threshold:g}"),
        "",
        f"{items} Fragen ohne gute Antwort"
        + (f" (von {logged_total} gestellten)" if logged_total is not None else "")
        + f": {refused} abgelehnt, {disliked} mit 👎 bewertet, in {len(clusters)} Themen.",
        "",
    ]
    if not clusters:
        lines += ["Keine abgelehnten oder negativ bewerteten Fragen im Zeitraum.", ""]
        return "\n".join(lines)
    lines += ["| # | Thema (typische Frage) | Anzahl | abgelehnt | 👎 |", "|---:|---|---:|---:|---:|"]
    for n, c in enumerate(clusters, 1):
        lines.append(f"| {n} | {_md(c.label)} | {c.count} | {c.refused} | {c.disliked} |")
    lines.append("")
    for n, c in enumerate(clusters, 1):
        channels = ", ".join(f"{k} {v}" for k, v in sorted(c.channels.items()))
        languages = ", ".join(f"{k} {v}" for k, v in sorted(c.languages.items()))
        lines += [
            f"## {n}. {_md(c.label)}",
            "",
            f"- **{c.count} {'Frage' if c.count == 1 else 'Fragen'}**: {c.refused} abgelehnt, {c.disliked} mit 👎",
            f"- Kanäle: {channels} · Sprachen: {languages} · zuletzt {c.last_seen.strftime('%Y-%m-%d')}",
            "",
            "Beispielformulierungen:",
            "",
        ]
        lines += [f"- „{_md(e)}“" for e in c.examples()]
        comments = c.comments()
        if comments:
            lines += ["", "Kommentare:", ""]
            lines += [f"- {_md(text)}" for text in comments]
        answered = [i for i in c.items if not i.refused and i.rating is not None and i.rating < 0]
        if answered:
            lines += ["", "Antworten, die nicht halfen:", ""]
            lines += [f"- {_md(i.question)} → {_md(_answer_start(i.answer))}" for i in answered[:EXAMPLES]]
        lines.append("")
    return "\n".join(lines)


def candidates(clusters: Sequence[GapCluster], start: int = 1) -> list[dict[str, Any]]:
    """👎-rated questions as draft eval questions (question-set format), for authors to complete."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for cluster in clusters:
        for item in cluster.items:
            if item.rating is None or item.rating >= 0:
                continue
            key = " ".join(item.question.lower().split())
            if key in seen:
                continue
            seen.add(key)
            notes = []
            if item.comment:
                notes.append(f"Kommentar: {' '.join(item.comment.split())}")
            notes.append("Abgelehnt" if item.refused else f"Antwort: {_answer_start(item.answer)}")
            out.append({
                "id": f"cand-{start + len(out):03d}",
                "lang": item.language if item.language in ("de", "en") else "de",
                "kind": "fact",
                "question": " ".join(item.question.split()),
                "expected": [],
                "key_facts": [],
                "comment": " · ".join(notes),
            })
    return out


def candidates_yaml(items: list[dict[str, Any]]) -> str:
    header = (
        "# Kandidaten für das Fragenset aus 👎-Rückmeldungen (lotse report gaps).\n"
        "# Bitte expected (doc, section) und 2–4 key_facts ergänzen, kind prüfen, comment entfernen\n"
        "# und die Frage in eine Datei unter eval/questions/ übernehmen (id anpassen).\n"
    )
    if not items:
        return header + "[]\n"
    return header + yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=100)


@dataclass
class GapsReport:
    clusters: list[GapCluster]
    markdown: str
    candidates: list[dict[str, Any]] = field(default_factory=list)
    logged: int = 0


def gaps_report(store: FeedbackStore, embedder: QueryEmbedder, days: int = 90, threshold: float = DEFAULT_THRESHOLD) -> GapsReport:
    """Everything `lotse report gaps` writes, from one read of the log."""
    logged = store.logged(days)
    items = [i for i in logged if is_gap(i)]
    clusters = cluster_gaps(items, embedder, threshold)
    return GapsReport(clusters, gaps_markdown(clusters, days, threshold, len(logged)), candidates(clusters), len(logged))
