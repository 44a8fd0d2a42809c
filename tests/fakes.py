"""Fakes for tests that are about something other than ranking quality."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np


class FakeEmbedder:
    """Deterministic bag-of-trigrams embedder: similar texts get similar vectors.

    Not constant, so it can tell passages apart; counts its calls so tests can prove that
    nothing was embedded again.
    """

    def __init__(self, dim: int = 128) -> None:
        self.dim = dim
        self.name = f"fake-trigram-{dim}"
        self.passage_calls = 0
        self.passages_embedded = 0
        self.query_calls = 0

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                h = int.from_bytes(hashlib.blake2b(padded[i : i + 3].encode(), digest_size=4).digest(), "little")
                vec[h % self.dim] += 1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else np.full(self.dim, 1.0 / np.sqrt(self.dim), dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passage_calls += 1
        self.passages_embedded += len(texts)
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.query_calls += 1
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2


class CountingEmbedder:
    """Wraps a real embedder and counts how many passages it was asked to embed."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.dim = inner.dim  # type: ignore[attr-defined]
        self.passages_embedded = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages_embedded += len(texts)
        return self.inner.embed_passages(texts)  # type: ignore[attr-defined,no-any-return]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)  # type: ignore[attr-defined,no-any-return]

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)  # type: ignore[attr-defined,no-any-return]


class ScriptedGenerator:
    """A generator (AnswerEngine(generator=…)) that streams fixed pieces, then its draft.

    With `hold=True` it stops after the last piece until `release` is set, so a test knows the
    deltas went out and the final answer did not: `streamed` tells when that point is reached.
    """

    name = "scripted"

    def __init__(self, pieces: Sequence[str], hold: bool = False, timeout: float = 60.0) -> None:
        import threading

        self.pieces = list(pieces)
        self.hold = hold
        self.timeout = timeout
        self.streamed = threading.Event()
        self.release = threading.Event()

    def _draft(self) -> object:
        from assistant.generation import Draft

        return Draft("".join(self.pieces), generator=self.name)

    def generate(self, request: object) -> object:
        return self._draft()

    def stream(self, request: object) -> Iterator[object]:
        yield from self.pieces
        self.streamed.set()
        if self.hold and not self.release.wait(self.timeout):
            raise TimeoutError("the test never released the scripted answer")
        yield self._draft()


def never_refuse(settings: Any) -> None:
    """For tests about something else than refusal: the model and both similarity floors off."""
    settings.refusal.threshold = settings.refusal.min_best_sentence = settings.refusal.min_best_sentence_en = 0.0
