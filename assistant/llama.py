"""Lotse's hybrid German retrieval as a llama-index retriever, for llama-index query engines and agents.

    from llama_index.core.query_engine import RetrieverQueryEngine
    from assistant.llama import LotseRetriever
    from ingest.index import open_index
    from ingest.types import Filters

    retriever = LotseRetriever(open_index(settings), settings.retrieval, k=5,
                               filters=Filters(visibility=("public",)))
    engine = RetrieverQueryEngine.from_args(retriever, llm=my_llm)
    response = engine.query("Wann ist eine Datenschutz-Folgenabschätzung nötig?")
    response.source_nodes[0].node.metadata["section"]  # '… › 3.2 DSFA durchführen'

Only retrieval goes through llama-index: no evidence scoring, refusal or citation check (those
are `assistant.answer.AnswerEngine`'s). The question is embedded by Lotse's own embedder (the
one the index was built with); a `QueryBundle.embedding` from a llama-index embed model is
ignored, since it would come from another vector space.
"""

from __future__ import annotations

import asyncio

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.language import detect_language
from assistant.retrieval import Retriever
from assistant.settings import RetrievalSettings
from assistant.types import Hit
from ingest.index import Index
from ingest.types import Filters

# shown to the LLM with each passage; doc_id and anchor stay in the metadata for the caller
_HIDDEN_FROM_LLM = ["doc_id", "anchor"]


def hit_node(hit: Hit) -> NodeWithScore:
    """A fused Lotse hit as a llama-index node, scored by the fusion."""
    c = hit.chunk
    hidden = _HIDDEN_FROM_LLM + (["page"] if c.page is None else [])
    node = TextNode(
        id_=c.chunk_id,
        text=c.text,
        metadata={"doc_id": c.doc_id, "title": c.title, "section": c.section, "page": c.page,
                  "anchor": c.anchor, "doc_type": c.doc_type},
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=hidden,
    )
    return NodeWithScore(node=node, score=hit.score)


class LotseRetriever(BaseRetriever):
    """The k best chunks for a question by Lotse's hybrid retrieval (dense + BM25, fused).

    `source` is a ready `assistant.retrieval.Retriever`, or an `Index` (with optional
    `RetrievalSettings`) to build one. `filters` default to `Filters()`, which lets internal
    documents through: pass `Filters(visibility=("public",))` for public users. `language`
    ('de'/'en') steers the fusion; None detects it per question, as Lotse does.

    Nodes: `TextNode(id_=chunk_id, text=chunk text, metadata={doc_id, title, section (the
    " › " path), page, anchor, doc_type})`, best first, score = Lotse's fused score.
    """

    def __init__(self, source: Retriever | Index, settings: RetrievalSettings | None = None, *, k: int = 10,
                 filters: Filters | None = None, language: str | None = None,
                 callback_manager: CallbackManager | None = None) -> None:
        if isinstance(source, Retriever):
            if settings is not None:
                raise ValueError("settings only apply when building a Retriever from an Index")
            self.retriever = source
        else:
            self.retriever = Retriever(source, settings)
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k = k
        self.filters = filters or Filters()
        self.language = language
        super().__init__(callback_manager=callback_manager)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        question = query_bundle.query_str
        language = self.language or detect_language(question)
        retrieval = self.retriever.retrieve(question, k=self.k, filters=self.filters, language=language)
        return [hit_node(h) for h in retrieval.fused]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        # retrieval is blocking (embedder, Chroma, BM25): keep it off the event loop
        return await asyncio.to_thread(self._retrieve, query_bundle)
