"""The keyword index: BM25 (bm25s) over German-analysed chunk texts, persisted atomically."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ingest.settings import KeywordSettings
from ingest.thesaurus import Thesaurus
from ingest.types import ChunkFacets, Filters, KeywordHit, StoredChunk

_WORD_RE = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Any:
    import Stemmer

    return Stemmer.Stemmer(language)


@lru_cache(maxsize=4)
def _stopwords(language: str) -> frozenset[str]:
    from bm25s import stopwords

    words = {"german": stopwords.STOPWORDS_GERMAN, "english": stopwords.STOPWORDS_EN}
    return frozenset(w.lower() for w in words.get(language, ()))


_LINKS = ("", "s", "es", "n", "en", "er", "e")
_ABBREVIATION = re.compile(r"((?:[A-ZÄÖÜ][\w-]*\s+){0,2}[A-ZÄÖÜ][\w-]*)\s+\(([A-ZÄÖÜ][A-Za-zÄÖÜ]{1,6})\)")


def abbreviations(texts: Sequence[str]) -> dict[str, list[str]]:
    """Abbreviations the texts define, "Datenschutz-Folgenabschätzung (DSFA)": abbreviation -> long words.
    Only where the long form starts with the abbreviation's first letter (not "TwinBy (Bayern)")."""
    found: dict[str, list[str]] = {}
    for text in texts:
        for long, short in _ABBREVIATION.findall(text):
            words = long.split()[-max(1, min(3, len(short) - 1)) :]
            while words and words[0][0].lower() != short[0].lower():
                words = words[1:]
            if words and short.upper() != short.lower() and short not in found:
                found[short] = words
    return found
MIN_PART = 5
# a separable verb's particle closes its clause: "Wie bereiten wir uns … vor?" is "vorbereiten"
_PARTICLES = frozenset({"ab", "an", "auf", "aus", "bei", "dar", "ein", "fest", "fort", "her", "hin", "los", "mit", "nach",
                        "vor", "weg", "zu", "zurück", "zusammen"})
_CLAUSE = re.compile(r"[.,;:!?()\u2013\u201e\u201c\"]")
_VERB_ENDINGS = ("en", "et", "est", "st", "t", "e", "n", "")
ANALYSED_CACHE = 8192  # analysed texts kept per analyzer (headings, questions)


def split_compound(word: str, lexicon: frozenset[str]) -> list[str]:
    """Split a compound into the fewest lexicon words (with German linking -s-, -n-, ...).

    "geodateninfrastruktur" -> ["geodaten", "infrastruktur"] when both occur on their own in
    the lexicon; [] when there is no split into two or more parts.
    """
    n = len(word)
    if n < 2 * MIN_PART:
        return []
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        current = best[i]
        if current is None:
            continue
        for j in range(i + MIN_PART, n + 1):
            part = word[i:j]
            if part == word or part not in lexicon:
                continue
            for link in _LINKS:
                k = j + len(link)
                if k <= n and word[j:k] == link:
                    candidate = [*current, part]
                    slot = best[k]
                    if slot is None or len(candidate) < len(slot):
                        best[k] = candidate
    result = best[n]
    return result if result and len(result) > 1 else []


class Analyzer:
    """German analysis for BM25: lower case, stop words out, compounds split, Snowball stems.

    Hyphenated words give their parts; with a lexicon (the corpus' own vocabulary), closed
    compounds give their parts too, so "Geodateninfrastruktur" meets "Infrastruktur für Geodaten",
    and a separable verb split in the sentence gives its joined stem, so "Wie fangen wir an?"
    meets "Am Anfang".
    """

    def __init__(self, language: str = "german", lexicon: frozenset[str] | None = None) -> None:
        self.language = language
        self.lexicon = lexicon
        self._stem = _stemmer(language).stemWord
        self._stop = _stopwords(language) | _stopwords("english")
        self._parts: dict[str, list[str]] = {}
        self._known: frozenset[str] | None = None  # stems of the lexicon's words
        # a query analyses the same headings and questions many times (`share`, `coverage`, `profile`)
        self._cached = lru_cache(maxsize=ANALYSED_CACHE)(self._tokens)

    def stem(self, word: str) -> str:
        return str(self._stem(word))

    def words(self, text: str) -> list[str]:
        out: list[str] = []
        for word in _WORD_RE.findall(text.lower()):
            parts = word.split("-")
            out.extend(parts if len(parts) == 1 else [word.replace("-", ""), *parts])
        return [w for w in out if w and w not in self._stop]

    def parts(self, word: str) -> list[str]:
        """The compound parts of a word, recursively (cached)."""
        if self.lexicon is None:
            return []
        if word not in self._parts:
            found: list[str] = []
            for part in split_compound(word, self.lexicon):
                found.append(part)
                found.extend(self.parts(part))
            self._parts[word] = found
        return self._parts[word]

    def __call__(self, text: str) -> list[str]:
        return list(self._cached(text))

    def _tokens(self, text: str) -> tuple[str, ...]:
        tokens: list[str] = []
        for word in self.words(text):
            tokens.append(self._stem(word))
            tokens.extend(self._stem(p) for p in self.parts(word))
        return tuple(tokens + self.separable(text))

    def separable(self, text: str) -> list[str]:
        """Stems of separable verbs split in the sentence ("greift … auf" -> "aufgreif", "fangen …
        an" -> "anfang"), when the corpus' vocabulary knows the joined stem ("Anfang", "aufgreifen")."""
        if self.lexicon is None:
            return []
        if self._known is None:
            self._known = frozenset(self._stem(w) for w in self.lexicon)
        joined: list[str] = []
        for clause in _CLAUSE.split(text):
            words = clause.split()
            if len(words) < 3 or words[-1] not in _PARTICLES:
                continue
            for word in words[:-1]:
                if not (word.isalpha() and word.islower()):  # a verb, not a noun
                    continue
                roots = [word[: len(word) - len(e)] for e in _VERB_ENDINGS if word.endswith(e) and len(word) - len(e) >= 3]
                joined.extend(next(([s] for s in (self._stem(words[-1] + r) for r in roots) if s in self._known), []))
        return joined

    def vocabulary(self, texts: Sequence[str]) -> frozenset[str]:
        """The lexicon for compound splitting: every non-stop word of 4+ letters in the texts."""
        return frozenset(
            w for t in texts for w in self.words(t) if len(w) >= MIN_PART and w.isalpha()
        )


class BM25Index:
    """BM25 (bm25s) over chunk texts; `search` honours the same `Filters` as the vector store.

    A filter's mask over all chunks is cached (one Python pass over 100k chunks costs ~65 ms);
    the cache is an LRU of `mask_cache` entries, since clients choose the filters.
    """

    def __init__(self, analyzer: Analyzer, retriever: Any, ids: list[str], facets: list[ChunkFacets], mask_cache: int = 64) -> None:
        self.analyzer = analyzer
        self._retriever = retriever
        self.ids = ids
        self.facets = facets
        self._masks: OrderedDict[Filters, npt.NDArray[np.bool_]] = OrderedDict()
        self._positions: dict[str, int] | None = None
        self.thesaurus: Thesaurus | None = None
        self.abbreviations: dict[str, list[str]] = {}  # stem of an abbreviation <-> stems of its long form
        self.generation = ""  # the store's stamp this index was loaded for (see ingest.index.Index.refresh)
        self._mask_cache = mask_cache
        self._lock = threading.Lock()

    @classmethod
    def build(cls, analyzer: Analyzer, chunks: Sequence[StoredChunk], settings: KeywordSettings) -> BM25Index:
        """Index the chunks; with `decompound` the analyzer learns the corpus' vocabulary first."""
        import bm25s

        texts = [c.keyword_text() for c in chunks]
        if settings.decompound:
            analyzer = Analyzer(analyzer.language, analyzer.vocabulary(texts))
        retriever = bm25s.BM25(k1=settings.bm25_k1, b=settings.bm25_b)
        tokens = [analyzer(t) or ["\u2205"] for t in texts]
        if tokens:
            retriever.index(tokens, show_progress=False)
        facets = [ChunkFacets.of(c) for c in chunks]
        index = cls(analyzer, retriever, [c.chunk_id for c in chunks], facets, settings.mask_cache)
        index.thesaurus = Thesaurus.load(settings.thesaurus, analyzer.stem)
        index.abbreviations = index.pair_abbreviations(abbreviations(texts))
        return index

    def pair_abbreviations(self, found: dict[str, list[str]]) -> dict[str, list[str]]:
        """Both directions, analysed: the abbreviation's stem -> the long form's, and back."""
        pairs: dict[str, list[str]] = {}
        for short, long in found.items():
            short_terms, long_terms = self.analyzer(short), self.analyzer(" ".join(long))
            for s in short_terms:
                pairs.setdefault(s, []).extend(long_terms)
            if long_terms:
                pairs.setdefault(self.analyzer.stem(self.analyzer.words(" ".join(long))[-1]), []).extend(short_terms)
        return {k: list(dict.fromkeys(v)) for k, v in pairs.items()}

    def __len__(self) -> int:
        return len(self.ids)

    def analyze(self, text: str) -> list[str]:
        return self.analyzer(text)

    def document_frequency(self, term: str) -> int:
        """In how many chunks an analysed term occurs (0 when unknown)."""
        if self._retriever is None:
            return 0
        token = self._retriever.vocab_dict.get(term)
        if token is None:
            return 0
        indptr = self._retriever.scores["indptr"]
        return int(indptr[token + 1] - indptr[token])

    def holders(self, term: str) -> npt.NDArray[np.int32]:
        """The positions (in `ids`) of the chunks that hold an analysed term."""
        token = self._retriever.vocab_dict.get(term) if self._retriever is not None else None
        if token is None:
            return np.zeros(0, dtype=np.int32)
        indptr = self._retriever.scores["indptr"]
        return np.asarray(self._retriever.scores["indices"][indptr[token] : indptr[token + 1]], dtype=np.int32)

    def coverage(self, query: str, positions: Sequence[int | None]) -> npt.NDArray[np.float64]:
        """Per chunk (by position): the IDF-weighted share of the query's terms it holds."""
        terms = list(dict.fromkeys(self.analyzer(query)))
        weights = np.array([self.idf(t) for t in terms])
        out = np.zeros(len(positions))
        if not terms or weights.sum() <= 0:
            return out
        where = {p: i for i, p in enumerate(positions) if p is not None}
        for term, weight in zip(terms, weights, strict=True):
            for p in self.holders(term):
                if int(p) in where:
                    out[where[int(p)]] += weight
        return out / float(weights.sum())

    def variants(self, term: str) -> set[str]:
        """A query term and what stands for it: its abbreviation or long form, its synonyms."""
        synonyms = self.thesaurus.synonyms(term) if self.thesaurus is not None else set()
        return {term, *self.abbreviations.get(term, []), *synonyms}

    def share(self, query: str, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Per text (e.g. a chunk's heading): the IDF-weighted share of the query's terms it holds,
        a term counting when the text holds it or one of its variants."""
        terms = list(dict.fromkeys(self.analyzer(query)))
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values())
        if not terms or total <= 0:
            return np.zeros(len(texts))
        variants = {t: self.variants(t) for t in terms}
        held = [set(self.analyzer(text)) for text in texts]
        return np.array([sum(w for t, w in weights.items() if variants[t] & h) / total for h in held])

    def idf(self, term: str) -> float:
        """Inverse document frequency, highest for terms the corpus does not know."""
        return math.log((len(self.ids) + 1) / (self.document_frequency(term) + 0.5))

    def scores(self, query: str | list[str]) -> npt.NDArray[np.float32]:
        """The BM25 score of every chunk (in `ids` order) for a query (or its analysed terms)."""
        terms = self.analyzer(query) if isinstance(query, str) else query
        if not self.ids or not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._retriever.get_scores(terms), dtype=np.float32)

    def expansion(self, query: str, max_df: int = 2, per_word: int = 3) -> list[str]:
        """Terms to search besides the query's own: the long form of an abbreviation the corpus
        defines and back ("DSFA" <-> "Datenschutz-Folgenabschätzung"), and synonyms the corpus
        knows for query words it knows at most `max_df` times (the rarest `per_word` of each)."""
        terms = set(self.analyzer(query))
        found: list[str] = []
        for word in self.analyzer.words(query):
            stem = self.analyzer.stem(word)
            found += [t for t in self.abbreviations.get(stem, []) if t not in terms]
            if self.thesaurus is not None and self.document_frequency(stem) <= max_df:
                known = [s for s in self.thesaurus.synonyms(stem) if s not in terms and self.document_frequency(s) > 0]
                found += sorted(known, key=lambda s: (self.document_frequency(s), s))[:per_word]
        return list(dict.fromkeys(found))

    def position(self, chunk_id: str) -> int | None:
        """Where a chunk sits in `ids` (and in `scores`)."""
        if self._positions is None:
            self._positions = {cid: i for i, cid in enumerate(self.ids)}
        return self._positions.get(chunk_id)

    def search(self, query: str, k: int, filters: Filters | None = None, scores: npt.NDArray[np.float32] | None = None) -> list[KeywordHit]:
        """The k best chunks for a query among those the filters allow (`scores`: from `scores()`)."""
        scores = self.scores(query) if scores is None else scores
        if filters is not None and filters.narrows:
            scores = np.where(self.mask(filters), scores, 0.0)
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [KeywordHit(self.ids[i], float(scores[i])) for i in top]

    def mask(self, filters: Filters) -> npt.NDArray[np.bool_]:
        """Which chunks the filters allow (cached, least recently used out first)."""
        with self._lock:
            mask = self._masks.get(filters)
            if mask is not None:
                self._masks.move_to_end(filters)
                return mask
        mask = np.fromiter((filters.allows(f) for f in self.facets), dtype=bool, count=len(self.ids))
        with self._lock:
            self._masks[filters] = mask
            while len(self._masks) > self._mask_cache:
                self._masks.popitem(last=False)
        return mask

    # --- persistence: <dir>/<stamp>/..., <dir>/CURRENT names the live stamp ----------------

    def save(self, directory: Path, identity: str, generation: str = "") -> None:
        """Write a new version beside the old one and switch CURRENT atomically; `generation`
        is the store's stamp it was built for."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = f"v{time.time_ns()}"
        target = directory / stamp
        target.mkdir()
        if self.ids:
            self._retriever.save(str(target / "bm25"), show_progress=False)
        lexicon = sorted(self.analyzer.lexicon) if self.analyzer.lexicon is not None else None
        facets = [dataclasses.asdict(f) for f in self.facets]
        chunks = {"identity": identity, "generation": generation, "lexicon": lexicon, "ids": self.ids, "facets": facets,
                  "abbreviations": self.abbreviations}
        (target / "chunks.json").write_text(json.dumps(chunks), encoding="utf-8")
        (target / "meta.json").write_text(json.dumps({"identity": identity, "size": len(self.ids)}), encoding="utf-8")
        tmp = directory / "CURRENT.tmp"
        tmp.write_text(stamp, encoding="utf-8")
        os.replace(tmp, directory / "CURRENT")
        for old in directory.iterdir():
            if old.is_dir() and old.name != stamp:
                shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def saved_size(directory: Path, identity: str) -> int | None:
        """How many chunks the saved index holds (None: none saved, or made another way)."""
        meta = _read_current(directory, "meta.json")
        return int(meta["size"]) if meta is not None and meta.get("identity") == identity else None

    @classmethod
    def load(cls, directory: Path, settings: KeywordSettings) -> BM25Index | None:
        """The saved index, or None when there is none (or it was made with other settings)."""
        import bm25s

        data = _read_current(directory, "chunks.json")
        if data is None or data.get("identity") != keyword_identity(settings):
            return None
        lexicon = data.get("lexicon")
        analyzer = Analyzer(settings.language, frozenset(lexicon) if lexicon is not None else None)
        retriever = None
        if data["ids"]:
            stamp = (directory / "CURRENT").read_text(encoding="utf-8").strip()
            retriever = bm25s.BM25.load(str(directory / stamp / "bm25"), show_progress=False)
        facets = [ChunkFacets(**{**f, "tags": tuple(f["tags"])}) for f in data["facets"]]
        index = cls(analyzer, retriever, data["ids"], facets, settings.mask_cache)
        index.thesaurus = Thesaurus.load(settings.thesaurus, analyzer.stem)
        index.abbreviations = dict(data.get("abbreviations") or {})
        index.generation = str(data.get("generation", ""))
        return index


def keyword_identity(settings: KeywordSettings) -> str:
    """Everything that decides how the saved keyword index was built."""
    parts = f"snowball-{settings.language}{'+decompound' if settings.decompound else ''}"
    return f"{parts}|k1={settings.bm25_k1:g}|b={settings.bm25_b:g}|v4"  # v4: separable verbs joined


def _read_current(directory: Path, name: str) -> dict[str, Any] | None:
    try:
        stamp = (directory / "CURRENT").read_text(encoding="utf-8").strip()
        data = json.loads((directory / stamp / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
