"""Ingest throughput against the raw embedder (same chunks, same run), no-op and one-edit re-ingest.

Run: .venv/bin/python bench/ingest_speed.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assistant.settings import load_settings
from bench.common import timed, write
from ingest.chunking import chunk_document
from ingest.index import open_index
from ingest.loaders import load_file
from ingest.pipeline import run_ingest, scan

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="lotse-bench-ingest-"))
    corpus = work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    settings = load_settings(paths={"corpus_dir": corpus, "data_dir": work / "data"})
    index = open_index(settings)
    embedder = index.embedder

    docs = [load_file(p, settings.ingest) for p in scan([corpus])]
    texts = [c.embed_text() for d in docs for c in chunk_document(d, settings.chunking, embedder.count_tokens)]
    batch = settings.embedder.batch_size
    embedder.embed_passages(texts[:4])  # warm-up
    raw_seconds, _ = timed(lambda: [embedder.embed_passages(texts[i : i + batch]) for i in range(0, len(texts), batch)])
    raw_rate = len(texts) / raw_seconds

    first = run_ingest(index, settings)
    pipeline_rate = first.chunks_embedded / first.seconds
    noop = run_ingest(open_index(settings), settings)
    cli_started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lotse.cli", "ingest"], check=True, capture_output=True,
                   env={**__import__("os").environ, "LOTSE_PATHS__CORPUS_DIR": str(corpus), "LOTSE_PATHS__DATA_DIR": str(work / "data")})
    cli_noop = time.perf_counter() - cli_started
    guide = corpus / "leitfaeden" / "leitfaden-datenschutz.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\n## 9 Nachtrag\n\nEin neuer Absatz.\n", encoding="utf-8")
    edit = run_ingest(index, settings)

    rows = {
        "embedder": embedder.name,
        "chunks": len(texts),
        "raw_embedder_chunks_per_s": round(raw_rate, 2),
        "pipeline_chunks_per_s": round(pipeline_rate, 2),
        "pipeline_vs_raw_ratio": round(pipeline_rate / raw_rate, 3),
        "first_ingest_s": round(first.seconds, 1),
        "noop_reingest_s": round(noop.seconds, 3),
        "noop_reingest_cli_wall_s": round(cli_noop, 2),
        "edit_one_document_s": round(edit.seconds, 2),
        "edit_chunks_embedded": edit.chunks_embedded,
    }
    table = Table("measure", "value", title="Ingest (bundled corpus, same run)")
    for key, value in rows.items():
        table.add_row(key, str(value))
    Console().print(table)
    print("written:", write("ingest_speed", rows))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
