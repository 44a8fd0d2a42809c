"""Synonyms for keyword queries: OpenThesaurus groups (Debian package openthesaurus-de-text, LGPL).

A question in everyday words ("Zuschuss", "Geld vom Land") rarely shares a term with the
guide ("Förderung", "Fördermittel"). For query words the corpus does not know, the synonyms it
does know are searched too, at a weight the tuning decides. The thesaurus is read from disk,
never shipped in this repository; without the file there is simply no expansion.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)
_NOTE = re.compile(r"\([^)]*\)")


@lru_cache(maxsize=2)
def _groups(path: str) -> tuple[tuple[str, ...], ...]:
    """The single-word entries of each synonym group, lower case, notes such as "(ugs.)" removed."""
    groups = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        words = {w for w in (_NOTE.sub("", t).strip().lower() for t in line.split(";")) if w and " " not in w}
        if len(words) > 1:
            groups.append(tuple(sorted(words)))
    return tuple(groups)


class Thesaurus:
    """Synonym stems by stem, built with the keyword index's own analysis."""

    def __init__(self, groups: tuple[tuple[str, ...], ...], stem: Callable[[str], str]) -> None:
        self._by_stem: dict[str, set[str]] = defaultdict(set)
        for group in groups:
            stems = {stem(w) for w in group}
            for s in stems:
                self._by_stem[s] |= stems - {s}

    @classmethod
    def load(cls, path: Path | None, stem: Callable[[str], str]) -> Thesaurus | None:
        if path is None or not Path(path).is_file():
            if path is not None:
                log.info("Thesaurus %s nicht gefunden: Stichwortsuche ohne Synonyme.", path)
            return None
        return cls(_groups(str(path)), stem)

    def synonyms(self, stem: str) -> set[str]:
        return self._by_stem.get(stem, set())

    def __contains__(self, stem: str) -> bool:
        """Is this a word of the general language (one the thesaurus lists)?"""
        return stem in self._by_stem
