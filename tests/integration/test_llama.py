"""Lotse inside llama-index: LotseRetriever in a RetrieverQueryEngine, a RetrieverTool and a
QueryFusionRetriever over the small test corpus (real Chroma, fake embedder, MockLLM), and
`build_llm` choosing llama-index's Ollama or OpenAILike client."""

from __future__ import annotations

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import MetadataMode
from llama_index.core.tools import RetrieverTool

from assistant.llama import LotseRetriever
from assistant.llm import build_llm
from assistant.retrieval import Retriever
from assistant.settings import GeneratorSettings, Settings
from ingest.types import Filters

DSFA = "Wann ist eine Datenschutz-Folgenabschätzung nötig?"
INTERNAL = "Wer moderiert die Planungsrunde und wo liegt die Ablage?"
PUBLIC = Filters(visibility=("public",))


def test_query_engine_returns_lotses_chunks_in_lotses_order(settings: Settings, fake_index) -> None:  # type: ignore[no-untyped-def]
    engine = RetrieverQueryEngine.from_args(LotseRetriever(fake_index, settings.retrieval, k=5), llm=MockLLM())
    response = engine.query(DSFA)

    expected = Retriever(fake_index, settings.retrieval).retrieve(DSFA, k=5, language="de").fused
    assert [n.node.node_id for n in response.source_nodes] == [h.chunk.chunk_id for h in expected]
    assert [n.score for n in response.source_nodes] == pytest.approx([h.score for h in expected])
    top = response.source_nodes[0].node
    assert top.metadata == {
        "doc_id": "leitfaden-datenschutz",
        "title": "Leitfaden Datenschutz",
        "section": "Leitfaden Datenschutz › 3 Datenschutz-Folgenabschätzung › 3.2 DSFA durchführen",
        "page": None,
        "anchor": "3-2-dsfa-durchfuehren",
        "doc_type": "leitfaden",
    }
    assert top.get_content().startswith("Eine Datenschutz-Folgenabschätzung nach Art. 35 DSGVO")
    pdf = next(n.node for n in response.source_nodes if n.node.metadata["doc_id"] == "leitfaden-betrieb")
    assert isinstance(pdf.metadata["page"], int)
    # MockLLM echoes its prompt: the passages reached the LLM with title and section, not the anchor
    assert "Art. 35 DSGVO" in str(response) and "section: Leitfaden Datenschutz › 3 Datenschutz" in str(response)
    assert "anchor:" not in top.get_content(MetadataMode.LLM) and "page:" not in top.get_content(MetadataMode.LLM)
    assert "page: 1" in pdf.get_content(MetadataMode.LLM) or "page: 2" in pdf.get_content(MetadataMode.LLM)


def test_filters_hide_internal_documents(settings: Settings, fake_index) -> None:  # type: ignore[no-untyped-def]
    everything = LotseRetriever(fake_index, settings.retrieval, k=5).retrieve(INTERNAL)
    assert everything[0].node.metadata["doc_id"] == "planungsrunde-intern"

    public = LotseRetriever(fake_index, settings.retrieval, k=5, filters=PUBLIC)
    nodes = RetrieverQueryEngine.from_args(public, llm=MockLLM()).query(INTERNAL).source_nodes
    assert nodes and all(n.node.metadata["doc_id"] != "planungsrunde-intern" for n in nodes)
    assert all(n.node.metadata["doc_type"] == "leitfaden"
               for n in LotseRetriever(fake_index, k=5, filters=Filters(doc_types=("leitfaden",))).retrieve(INTERNAL))


def test_takes_a_ready_retriever(settings: Settings, fake_index) -> None:  # type: ignore[no-untyped-def]
    retriever = Retriever(fake_index, settings.retrieval)
    nodes = LotseRetriever(retriever, k=2, filters=PUBLIC).retrieve(DSFA)
    assert len(nodes) == 2 and nodes[0].node.metadata["section"].endswith("3.2 DSFA durchführen")
    with pytest.raises(ValueError):
        LotseRetriever(retriever, settings.retrieval)


def test_composes_as_a_tool_and_in_a_fusion_retriever(settings: Settings, fake_index) -> None:  # type: ignore[no-untyped-def]
    public = LotseRetriever(fake_index, settings.retrieval, k=3, filters=PUBLIC)
    tool = RetrieverTool.from_defaults(public, name="lotse", description="Leitfäden für Digitale Zwillinge")
    output = tool.call(DSFA)
    assert output.raw_output[0].node.metadata["section"].endswith("3.2 DSFA durchführen")
    assert "Art. 35 DSGVO" in output.content

    everything = LotseRetriever(fake_index, settings.retrieval, k=3)
    # use_async: each retriever's aretrieve runs (LotseRetriever: in a worker thread)
    fusion = QueryFusionRetriever([public, everything], llm=MockLLM(), num_queries=1, mode=FUSION_MODES.RECIPROCAL_RANK,
                                  similarity_top_k=3, use_async=True)
    fused = fusion.retrieve(DSFA)
    assert fused[0].node.metadata["section"].endswith("3.2 DSFA durchführen")
    assert len({n.node.node_id for n in fused}) == len(fused)


def test_build_llm_picks_llama_index_clients() -> None:
    from llama_index.llms.ollama import Ollama
    from llama_index.llms.openai_like import OpenAILike

    ollama = build_llm(GeneratorSettings.model_validate(
        {"backend": "ollama", "ollama": {"model": "qwen3:4b", "base_url": "http://ollama:11434"}}))
    assert isinstance(ollama, Ollama)
    assert (ollama.model, ollama.base_url, ollama.request_timeout) == ("qwen3:4b", "http://ollama:11434", 30.0)

    openai = build_llm(GeneratorSettings.model_validate(
        {"backend": "openai", "openai": {"model": "m", "base_url": "http://vllm:8000/v1", "api_key": "k"}}))
    assert isinstance(openai, OpenAILike) and not isinstance(openai, Ollama)
    assert (openai.model, openai.api_base, openai.api_key, openai.is_chat_model) == ("m", "http://vllm:8000/v1", "k", True)
    assert openai.max_retries == 0 and openai.max_tokens == 600
