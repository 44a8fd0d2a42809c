from __future__ import annotations

from pathlib import Path

from ingest.keyword import Analyzer, BM25Index, keyword_identity, split_compound
from ingest.settings import KeywordSettings
from ingest.types import Filters, StoredChunk

PLAIN = KeywordSettings(decompound=False)


def chunks(texts: list[str], **fields: list[object]) -> list[StoredChunk]:
    ids = fields.pop("ids", [chr(ord("a") + i) for i in range(len(texts))])
    return [
        StoredChunk(str(cid), text, doc_id=str(cid), **{k: v[i] for k, v in fields.items()})  # type: ignore[arg-type]
        for i, (cid, text) in enumerate(zip(ids, texts, strict=True))
    ]


def build() -> BM25Index:
    texts = [
        "Die Datenschutz-Folgenabschätzung prüft Risiken.",
        "Förderprogramme für Kommunen und Landkreise.",
        "Interne Notiz zur Förderung.",
    ]
    stored = chunks(texts, doc_type=["leitfaden", "leitfaden", "sitzung"], visibility=["public", "public", "internal"],
                    tags=[("dsfa",), ("foerderung",), ("foerderung",)])
    return BM25Index.build(Analyzer(), stored, PLAIN)


def test_analyzer_stems_and_splits_hyphenated_words() -> None:
    tokens = Analyzer()("Die Datenschutz-Folgenabschätzung für Kommunen")
    assert "die" not in tokens and "fur" not in tokens
    assert {"datenschutz", "folgenabschatz"} <= set(tokens)
    assert Analyzer()("Kommune") == Analyzer()("Kommunen")


def test_search_ranks_and_filters() -> None:
    index = build()
    assert [h.chunk_id for h in index.search("Folgenabschätzung", 5)] == ["a"]
    assert {h.chunk_id for h in index.search("Förderprogramme Förderung", 5)} == {"b", "c"}
    public = index.search("Förderung Förderprogramme", 5, Filters(visibility=("public",)))
    assert [h.chunk_id for h in public] == ["b"]
    assert [h.chunk_id for h in index.search("Förderung", 5, Filters(tags=("dsfa",)))] == []
    assert [h.chunk_id for h in index.search("Förderung", 5, Filters(doc_types=("sitzung",)))] == ["c"]
    assert index.search("der die das", 5) == []


def test_filter_masks_are_a_bounded_lru() -> None:
    index = BM25Index.build(Analyzer(), chunks(["Förderung"] * 3), KeywordSettings(decompound=False, mask_cache=8))
    for n in range(500):  # clients choose filters: distinct ones must not pile up
        index.search("Förderung", 3, Filters(tags=(f"tag{n}",)))
    assert len(index._masks) == 8
    recent = Filters(tags=("tag499",))
    assert recent in index._masks and Filters(tags=("tag0",)) not in index._masks


def test_save_and_load_switch_atomically(tmp_path: Path) -> None:
    index = build()
    index.save(tmp_path, keyword_identity(PLAIN))
    first = (tmp_path / "CURRENT").read_text()
    loaded = BM25Index.load(tmp_path, PLAIN)
    assert loaded is not None and [h.chunk_id for h in loaded.search("Folgenabschätzung", 3)] == ["a"]
    assert [h.chunk_id for h in loaded.search("Förderung Förderprogramme", 3, Filters(visibility=("public",)))] == ["b"]
    index.save(tmp_path, keyword_identity(PLAIN))
    assert (tmp_path / "CURRENT").read_text() != first
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1
    assert BM25Index.saved_size(tmp_path, keyword_identity(PLAIN)) == 3
    assert BM25Index.load(tmp_path, KeywordSettings(language="english", decompound=False)) is None
    assert BM25Index.load(tmp_path, KeywordSettings(decompound=False, bm25_k1=1.5)) is None


def test_compound_splitting_with_the_corpus_vocabulary() -> None:
    lexicon = frozenset({"geodaten", "daten", "infrastruktur", "folgen", "abschätzung", "datenschutz", "bestand", "aufnahme"})
    assert split_compound("geodateninfrastruktur", lexicon) == ["geodaten", "infrastruktur"]
    assert split_compound("bestandsaufnahme", lexicon) == ["bestand", "aufnahme"]
    assert split_compound("folgenabschätzung", lexicon) == ["folgen", "abschätzung"]
    assert split_compound("infrastruktur", lexicon) == []
    analyzer = Analyzer(lexicon=lexicon)
    assert set(analyzer("Infrastruktur für Geodaten")) <= set(analyzer("Geodateninfrastruktur"))


def test_decompounding_finds_the_split_form_and_back() -> None:
    texts = ["Die Geodateninfrastruktur des Kreises.", "Die Infrastruktur für Geodaten im Land.", "Förderung und Haushalt."]
    stored = chunks(texts, ids=["joined", "split", "other"])
    plain = BM25Index.build(Analyzer(), stored, PLAIN)
    split = BM25Index.build(Analyzer(), stored, KeywordSettings())
    assert [h.chunk_id for h in plain.search("Geodateninfrastruktur", 3)] == ["joined"]
    assert {h.chunk_id for h in split.search("Geodateninfrastruktur", 3)} == {"joined", "split"}
    assert {h.chunk_id for h in split.search("Infrastruktur für Geodaten", 3)} == {"joined", "split"}


def test_decompound_lexicon_is_persisted(tmp_path: Path) -> None:
    texts = ["Die Geodateninfrastruktur.", "Infrastruktur und Geodaten."]
    index = BM25Index.build(Analyzer(), chunks(texts), KeywordSettings())
    index.save(tmp_path, keyword_identity(KeywordSettings()))
    loaded = BM25Index.load(tmp_path, KeywordSettings())
    assert loaded is not None and loaded.analyzer.lexicon == index.analyzer.lexicon
    assert {h.chunk_id for h in loaded.search("Geodateninfrastruktur", 2)} == {"a", "b"}


def test_a_separable_verb_split_in_the_question_finds_its_joined_form() -> None:
    texts = ["Die Vorbereitung auf die Termine im Programm.", "Termine und Orte im Programm.", "Aufgegriffen wird der Bedarf."]
    index = BM25Index.build(Analyzer(), chunks(texts, ids=["prepare", "dates", "other"]), KeywordSettings())
    hits = index.search("Wie bereiten wir uns auf einen Termin vor?", 3)
    assert hits[0].chunk_id == "prepare", hits
    analyzer = index.analyzer
    assert "vorbereit" in analyzer("Wie bereiten wir uns auf einen Termin vor?")
    # only a joined stem the corpus knows, and only from a lower-case word before the clause's closing particle
    assert analyzer.separable("Wir nehmen den Termin vor.") == []
    assert analyzer.separable("Vor dem Termin bereiten wir uns gut vor") == ["vorbereit"]
