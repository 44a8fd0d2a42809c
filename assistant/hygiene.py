"""Answer hygiene as a check in code: what a good answer never contains.

Used twice: the composer keeps offending units out of its answers, and evaluation lints every
final answer (extractive or LLM) and fails on violations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_MARKERS = re.compile(r"\s*\[(?:\d+|\?)\](?:\[(?:\d+|\?)\])*")
_WORD = re.compile(r"\w+", re.U)
WORD_LIMIT = 120


@dataclass(frozen=True)
class Violation:
    rule: str
    text: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.text[:80]}"


def plain(line: str) -> str:
    """A line without citation markers, list dashes or quote marks."""
    return _MARKERS.sub("", re.sub(r"^\s*(?:[-*]|>|\d+\.)\s+", "", line)).strip()


def words(text: str) -> int:
    return len(_WORD.findall(_MARKERS.sub("", text)))


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        body = plain(line)
        if body and not line.lstrip().startswith(">"):
            out.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ\d\"„])", body) if s)
    return out


def _near(a: str, b: str) -> bool:
    ta, tb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    # pieces of a few words ("z. B." split at its dots) are no facts of their own
    return min(len(ta), len(tb)) >= 3 and len(ta & tb) / len(ta | tb) >= 0.7


def lint(text: str) -> list[Violation]:
    """Every hygiene rule the answer text breaks (empty: clean)."""
    lines = [line for line in text.split("\n") if line.strip()]
    found: list[Violation] = []
    for i, line in enumerate(lines):
        body = plain(line)
        # a header may end on ":" when its list or quoted block follows
        is_list_next = i + 1 < len(lines) and re.match(r"^\s*(?:[-*>]|\d+\.)\s", lines[i + 1]) is not None
        if body.endswith((":", ",", ";")) and not is_list_next:
            found.append(Violation("fragment", body))
        if URL.search(body):
            found.append(Violation("raw URL", body))
    sentences = _sentences(text)
    # items of a list given whole may be questions (checklist prompts); answer sentences may not
    stated = _sentences("\n".join(line for line in lines if not re.match(r"^\s*(?:[-*]|\d+\.)\s", line)))
    found += [Violation("question copied from the source", s) for s in stated if s.endswith("?")]
    found += [Violation("repeated fact", b) for i, a in enumerate(sentences) for b in sentences[i + 1 :] if _near(a, b)]
    is_list_or_template = any(re.match(r"^\s*(?:[-*>]|\d+\.)\s", line) for line in lines)
    if not is_list_or_template and words(text) > WORD_LIMIT:
        found.append(Violation("too long", f"{words(text)} words"))
    return found
