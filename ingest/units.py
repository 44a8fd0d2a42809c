"""Quotable units of a chunk: sentences, list items, template blocks and table rows.

Units are what answers quote and what sentence-level scoring compares with a question. The
split is deterministic, so unit i of a chunk is the same at ingest (when its vector is
stored as `<chunk_id>#<i>`) and at query time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.chunking import split_sentences

UNITS_VERSION = "2"
_LIST_ITEM = re.compile(r"^\s*[-*+]\s|^\s*\d{1,3}[.)]\s")


def clean_markdown(text: str) -> str:
    """Text as shown to people: no emphasis markers, checkboxes or quote marks, one line."""
    text = re.sub(r"^\s*[-*+]\s+\[[ xX]\]\s+", "", text, flags=re.M)
    text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.M)
    text = re.sub(r"^\s*>\s?", "", text, flags=re.M)
    text = re.sub(r"\*\*|__", "", text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"\1", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Unit:
    """One quotable piece of a chunk."""

    kind: str  # sentence | item | block
    text: str  # cleaned for display
    position: int  # its index among the chunk's units (unit vectors are stored as <chunk_id>#<position>)
    numbered: bool = False  # an item of a numbered list ("1. …")


def split_units(text: str) -> list[Unit]:
    """The units of a chunk's Markdown text, in reading order."""
    units: list[Unit] = []
    for block in re.split(r"\n\s*\n", text):
        stripped = block.strip()
        if not stripped:
            continue
        if _LIST_ITEM.match(stripped):
            numbered = bool(re.match(r"^\s*\d{1,3}[.)]\s", stripped))
            units.append(Unit("item", clean_markdown(re.sub(r"^\s*\d{1,3}[.)]\s+", "", stripped)), len(units), numbered))
        elif stripped.startswith(">"):
            units.append(Unit("block", clean_markdown(stripped), len(units)))
        elif stripped.startswith("|"):
            for row in stripped.splitlines():
                if row.strip() and not re.fullmatch(r"[|\s:-]+", row):
                    cells = " – ".join(c.strip() for c in row.strip().strip("|").split("|"))
                    units.append(Unit("item", clean_markdown(cells), len(units)))
        else:
            for sentence in with_lead_ins(split_sentences(clean_markdown(stripped))):
                if len(sentence) > 3:
                    units.append(Unit("sentence", sentence, len(units)))
    return units


def with_lead_ins(sentences: list[str]) -> list[str]:
    """A sentence ending on ":" inside a paragraph joined with the sentence it introduces
    ("Sie trifft aber nicht die Entscheidung: Verantwortlich bleibt die Kommune …"); one
    ending its paragraph stays alone, as the header of the list that follows."""
    joined: list[str] = []
    for sentence in sentences:
        if joined and joined[-1].endswith(":"):
            joined[-1] = f"{joined[-1]} {sentence}"
        else:
            joined.append(sentence)
    return joined


def unit_ids(chunk_id: str, count: int) -> list[str]:
    return [f"{chunk_id}#{i}" for i in range(count)]
