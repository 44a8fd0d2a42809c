"""The keyword index: BM25 (bm25s) over German-analysed chunk texts, persisted atomically."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

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


class Analyzer:
    """Lower-case words, drop stop words, Snowball-stem; hyphenated words also give their parts."""

    def __init__(self, language: str = "german") -> None:
        self.language = language
        self._stem = _stemmer(language).stemWord
        self._stop = _stopwords(language) | _stopwords("english")

    @property
    def identity(self) -> str:
        return f"snowball-{self.language}"

    def words(self, text: str) -> list[str]:
        out: list[str] = []
        for word in _WORD_RE.findall(text.lower()):
            parts = word.split("-")
            out.extend(parts if len(parts) == 1 else [word.replace("-", ""), *parts])
        return [w for w in out if w and w not in self._stop]

    def __call__(self, text: str) -> list[str]:
        return [self._stem(w) for w in self.words(text)]


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    score: float
    metadata: dict[str, Any]


class KeywordIndex:
    """BM25 over chunk texts; `search` can filter by each chunk's metadata."""

    def __init__(self, analyzer: Analyzer, retriever: Any, ids: list[str], metadatas: list[dict[str, Any]]) -> None:
        self.analyzer = analyzer
        self._retriever = retriever
        self.ids = ids
        self.metadatas = metadatas

    @classmethod
    def build(cls, analyzer: Analyzer, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> "KeywordIndex":
        import bm25s

        retriever = bm25s.BM25(k1=1.2, b=0.75)
        tokens = [analyzer(t) or ["\u2205"] for t in texts]
        if tokens:
            retriever.index(tokens, show_progress=False)
        return cls(analyzer, retriever, list(ids), list(metadatas))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int, allow: Callable[[dict[str, Any]], bool] | None = None) -> list[KeywordHit]:
        terms = self.analyzer(query)
        if not self.ids or not terms:
            return []
        scores = np.asarray(self._retriever.get_scores(terms), dtype=np.float32)
        if allow is not None:
            mask = np.fromiter((allow(m) for m in self.metadatas), dtype=bool, count=len(self.ids))
            scores = np.where(mask, scores, 0.0)
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [KeywordHit(self.ids[i], float(scores[i]), self.metadatas[i]) for i in top]

    # --- persistence: <dir>/<stamp>/..., <dir>/CURRENT names the live stamp ----------------

    def save(self, directory: Path) -> None:
        """Write a new version beside the old one and switch CURRENT atomically."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = f"v{time.time_ns()}"
        target = directory / stamp
        target.mkdir()
        if self.ids:
            self._retriever.save(str(target / "bm25"), show_progress=False)
        (target / "chunks.json").write_text(
            json.dumps({"analyzer": self.analyzer.identity, "ids": self.ids, "metadatas": self.metadatas}),
            encoding="utf-8",
        )
        (target / "meta.json").write_text(
            json.dumps({"analyzer": self.analyzer.identity, "size": len(self.ids)}), encoding="utf-8"
        )
        tmp = directory / "CURRENT.tmp"
        tmp.write_text(stamp, encoding="utf-8")
        os.replace(tmp, directory / "CURRENT")
        for old in directory.iterdir():
            if old.is_dir() and old.name != stamp:
                shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def saved_size(directory: Path, analyzer: Analyzer) -> int | None:
        """How many chunks the saved index holds (None: none saved, or another analyzer's)."""
        try:
            stamp = (directory / "CURRENT").read_text(encoding="utf-8").strip()
            meta = json.loads((directory / stamp / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return int(meta["size"]) if meta.get("analyzer") == analyzer.identity else None

    @classmethod
    def load(cls, directory: Path, analyzer: Analyzer) -> "KeywordIndex | None":
        """The saved index, or None when there is none (or it was made by another analyzer)."""
        import bm25s

        try:
            stamp = (directory / "CURRENT").read_text(encoding="utf-8").strip()
            data = json.loads((directory / stamp / "chunks.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("analyzer") != analyzer.identity:
            return None
        retriever = None
        if data["ids"]:
            retriever = bm25s.BM25.load(str(directory / stamp / "bm25"), show_progress=False)
        return cls(analyzer, retriever, data["ids"], data["metadatas"])
