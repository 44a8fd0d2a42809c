from __future__ import annotations

from ingest.chunking import chunk_document, parse_sections, slugify, split_sentences
from ingest.settings import ChunkingSettings
from ingest.types import Document


def words(text: str) -> int:
    return len(text.split())


def doc(text: str, title: str = "Leitfaden Einführung") -> Document:
    return Document(doc_id="lf", title=title, doc_type="leitfaden", text=text, source_path="lf.md", content_hash="h")


def test_section_paths_follow_headings() -> None:
    d = doc("# Leitfaden Einführung\n\nVorwort.\n\n## 3 Datenschutz\n\nIntro.\n\n### 3.2 DSFA\n\nText.\n\n## 4 Betrieb\n\nMehr.")
    paths = [c.section_path for c in chunk_document(d, ChunkingSettings(), words)]
    assert paths == [
        ("Leitfaden Einführung",),
        ("Leitfaden Einführung", "3 Datenschutz"),
        ("Leitfaden Einführung", "3 Datenschutz", "3.2 DSFA"),
        ("Leitfaden Einführung", "4 Betrieb"),
    ]
    assert chunk_document(d, ChunkingSettings(), words)[2].section == "Leitfaden Einführung › 3 Datenschutz › 3.2 DSFA"


def test_anchors_are_unique_slugs() -> None:
    assert slugify("3.2 Datenschutz-Folgenabschätzung (DSFA)") == "3-2-datenschutz-folgenabschaetzung-dsfa"
    sections = parse_sections(doc("## Quellen\n\nA.\n\n## Quellen\n\nB."))
    assert [s.anchor for s in sections] == ["quellen", "quellen-2"]


def test_checklist_items_are_never_cut() -> None:
    items = "\n".join(f"- [ ] **Punkt {i}** – {'Erläuterung ' * 12}\n  Fortsetzung der Zeile {i}." for i in range(30))
    chunks = chunk_document(doc(f"## 1 Liste\n\n{items}"), ChunkingSettings(max_tokens=120, overlap_tokens=0), words)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.kind == "checklist"
        for block in chunk.text.split("\n\n"):
            assert block.startswith("- [ ] **Punkt") and "Fortsetzung der Zeile" in block
        assert chunk.tokens <= 120
    assert sum(c.text.count("- [ ]") for c in chunks) == 30


def test_template_block_stays_whole() -> None:
    block = "\n".join(f"> Satz {i} des Bausteins mit [Platzhalter]." for i in range(10))
    text = f"## 2 Bausteine\n\n### 2.1 Beschlussvorschlag\n\nSo nutzen Sie ihn.\n\n{block}\n>\n> Zweiter Absatz."
    chunks = chunk_document(doc(text), ChunkingSettings(), words)
    template = [c for c in chunks if c.kind == "template"]
    assert len(template) == 1 and "Satz 9" in template[0].text and "Zweiter Absatz" in template[0].text


def test_long_section_is_split_by_sentences_with_overlap_and_limit() -> None:
    paragraph = " ".join(f"Dies ist Satz Nummer {i} über Geodaten." for i in range(80))
    settings = ChunkingSettings(max_tokens=100, overlap_tokens=20)
    chunks = chunk_document(doc(f"## 1 Lang\n\n{paragraph}\n\n{paragraph}"), settings, words)
    assert len(chunks) >= 6
    assert all(c.tokens <= 100 for c in chunks)
    assert all(c.text.rstrip().endswith(".") for c in chunks)


def test_chunk_ids_are_stable_and_content_addressed() -> None:
    a = chunk_document(doc("## 1 A\n\nText eins.\n\n## 2 B\n\nText zwei."), ChunkingSettings(), words)
    b = chunk_document(doc("## 1 A\n\nText eins.\n\n## 2 B\n\nText zwei."), ChunkingSettings(), words)
    c = chunk_document(doc("## 1 A\n\nText eins.\n\n## 2 B\n\nText drei."), ChunkingSettings(), words)
    assert [x.chunk_id for x in a] == [x.chunk_id for x in b]
    assert a[0].chunk_id == c[0].chunk_id and a[1].chunk_id != c[1].chunk_id


def test_pages_are_tracked() -> None:
    text = "<!-- page: 1 -->\n\n## 1 A\n\nSeite eins.\n\n<!-- page: 2 -->\n\nNoch A.\n\n## 2 B\n\nSeite zwei."
    chunks = chunk_document(doc(text), ChunkingSettings(), words)
    assert [(c.section_path[-1], c.page) for c in chunks] == [("1 A", 1), ("2 B", 2)]


def test_sentence_splitter_keeps_abbreviations() -> None:
    assert split_sentences("Das gilt z. B. für Sensoren. Nach Art. 35 DSGVO ist das Pflicht.") == [
        "Das gilt z. B. für Sensoren.",
        "Nach Art. 35 DSGVO ist das Pflicht.",
    ]
