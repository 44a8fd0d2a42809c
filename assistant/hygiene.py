"""Answer hygiene as a check in code: what a good answer never contains.

Used twice: the composer keeps offending units out of its answers, and evaluation lints every
final answer (extractive or LLM) and fails on violations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.figures import counted
from ingest.chunking import split_sentences
from ingest.keyword import Analyzer

URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_MARKERS = re.compile(r"\s*\[(?:\d+|\?)\](?:\[(?:\d+|\?)\])*")
_WORD = re.compile(r"\w+", re.U)
_ITEM = re.compile(r"^\s*(?:[-*]|\d+\.)\s")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# a sentence whose subject points back ("Er umfasst …", "Sie wurde …"), not "Es gibt …" or "Sie können …"
# ("Dort findet … Anwendung" and "Dazu kommen …" still state their fact)
_POINTS_BACK = re.compile(r"^(?:Er|Es(?!\s+(?:gibt|lohnt|empfiehlt|ist|hilft|reicht|genügt|kommt|geht|fehlt|braucht|bleibt)\b)|"
                          r"Sie\s+(?:wurde|war|\w+t)\b)\s")
WORD_LIMIT = 120
SAME_FACT = 0.75  # share of the shorter sentence's content words the other must hold


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


@lru_cache(maxsize=1)
def _analyzer() -> Analyzer:
    return Analyzer("german")


@lru_cache(maxsize=8192)
def _fact(text: str) -> tuple[frozenset[str], frozenset[str], frozenset[tuple[str, str]]]:
    """A sentence's content stems, figures and counted figures, without citation marks (they are no figures)."""
    text = plain(text)
    return frozenset(_analyzer()(text)), frozenset(_NUMBER.findall(text)), counted(text)


def same_fact(a: str, b: str) -> bool:
    """Do two sentences state the same fact? Most content words (stems, numbers) of the shorter
    one recur in the other, and their figures, if both give some, overlap; or both give one
    figure with the same word ("73 Kommunen", "am 05.10.2017 verbindlich") or one amount ("ab 16.000 €")."""
    (ta, na, ca), (tb, nb, cb) = _fact(a), _fact(b)
    small = min(len(ta), len(tb))
    # pieces of a few words ("z. B." split at its dots) are no facts of their own
    if small < 3:
        return False
    if not ca.isdisjoint(cb):
        return True
    if na and nb and na.isdisjoint(nb):  # 65 % and 50 %: two figures, two facts
        return False
    return len(ta & tb) / small >= SAME_FACT


def sentences_of(line: str) -> list[str]:
    """The statements of one answer line (a label ending on ":" states nothing)."""
    return [sentence for sentence in split_sentences(plain(line)) if not sentence.endswith(":")]


def _statements(lines: list[str]) -> list[tuple[str, int | None]]:
    """The answer's statements: list items with the list they belong to, and the sentences of
    the other lines (quoted template blocks are no statements of the answer)."""
    statements: list[tuple[str, int | None]] = []
    lists = 0
    for line in lines:
        if _ITEM.match(line):
            statements.append((plain(line), lists))
        elif not line.lstrip().startswith(">"):
            lists += 1
            statements += [(sentence, None) for sentence in sentences_of(line)]
    return statements


def _repeats(statements: list[tuple[str, int | None]]) -> list[tuple[str, str]]:
    """Pairs of statements that say the same thing; items of one list given whole are distinct
    by construction and are only compared with what stands outside their list."""
    return [(a, b) for i, (a, la) in enumerate(statements) for b, lb in statements[i + 1 :]
            if (la is None or la != lb) and same_fact(a, b)]


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
    statements = _statements(lines)
    # items of a list given whole may be questions (checklist prompts); answer sentences may not
    found += [Violation("question copied from the source", s) for s, in_list in statements if in_list is None and s.endswith("?")]
    found += [Violation("repeated fact", b) for a, b in _repeats(statements)]
    is_list_or_template = any(re.match(r"^\s*(?:[-*>]|\d+\.)\s", line) for line in lines)
    if not is_list_or_template and words(text) > WORD_LIMIT:
        found.append(Violation("too long", f"{words(text)} words"))
    return found


def points_back(sentence: str) -> bool:
    """Does the sentence's subject point back to the sentence before it ("Sie wurde …")? Then
    the two state one fact together."""
    return bool(_POINTS_BACK.match(sentence))
