from __future__ import annotations

from pathlib import Path

from ingest.keyword import Analyzer, KeywordIndex, split_compound


def build() -> KeywordIndex:
    texts = [
        "Die Datenschutz-Folgenabschätzung prüft Risiken.",
        "Förderprogramme für Kommunen und Landkreise.",
        "Interne Notiz zur Förderung.",
    ]
    metas = [
        {"doc_type": "leitfaden", "visibility": "public", "tags": "|dsfa|"},
        {"doc_type": "leitfaden", "visibility": "public", "tags": "|foerderung|"},
        {"doc_type": "sitzung", "visibility": "internal", "tags": "|foerderung|"},
    ]
    return KeywordIndex.build(Analyzer(), ["a", "b", "c"], texts, metas, decompound=False)


def test_analyzer_stems_and_splits_hyphenated_words() -> None:
    tokens = Analyzer()("Die Datenschutz-Folgenabschätzung für Kommunen")
    assert "die" not in tokens and "fur" not in tokens
    assert {"datenschutz", "folgenabschatz"} <= set(tokens)
    assert Analyzer()("Kommune") == Analyzer()("Kommunen")


def test_search_ranks_and_filters() -> None:
    index = build()
    assert [h.chunk_id for h in index.search("Folgenabschätzung", 5)] == ["a"]
    assert {h.chunk_id for h in index.search("Förderprogramme Förderung", 5)} == {"b", "c"}
    public = index.search("Förderung Förderprogramme", 5, allow=lambda m: m["visibility"] == "public")
    assert [h.chunk_id for h in public] == ["b"]
    assert index.search("der die das", 5) == []


def test_save_and_load_switch_atomically(tmp_path: Path) -> None:
    index = build()
    index.save(tmp_path)
    first = (tmp_path / "CURRENT").read_text()
    loaded = KeywordIndex.load(tmp_path, Analyzer().identity)
    assert loaded is not None and [h.chunk_id for h in loaded.search("Folgenabschätzung", 3)] == ["a"]
    index.save(tmp_path)
    assert (tmp_path / "CURRENT").read_text() != first
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1
    assert KeywordIndex.saved_size(tmp_path, Analyzer().identity) == 3
    assert KeywordIndex.load(tmp_path, Analyzer("english").identity) is None


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
    metas = [{}, {}, {}]
    plain = KeywordIndex.build(Analyzer(), ["joined", "split", "other"], texts, metas, decompound=False)
    split = KeywordIndex.build(Analyzer(), ["joined", "split", "other"], texts, metas, decompound=True)
    assert [h.chunk_id for h in plain.search("Geodateninfrastruktur", 3)] == ["joined"]
    assert {h.chunk_id for h in split.search("Geodateninfrastruktur", 3)} == {"joined", "split"}
    assert {h.chunk_id for h in split.search("Infrastruktur für Geodaten", 3)} == {"joined", "split"}


def test_decompound_lexicon_is_persisted(tmp_path: Path) -> None:
    texts = ["Die Geodateninfrastruktur.", "Infrastruktur und Geodaten."]
    index = KeywordIndex.build(Analyzer(), ["a", "b"], texts, [{}, {}], decompound=True)
    index.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path, index.analyzer.identity)
    assert loaded is not None and loaded.analyzer.lexicon == index.analyzer.lexicon
    assert {h.chunk_id for h in loaded.search("Geodateninfrastruktur", 2)} == {"a", "b"}
