from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from tests_support import make_docx, make_pdf

from ingest.errors import IngestCode, LotseError
from ingest.loaders import load_file
from ingest.settings import IngestSettings


def test_markdown_front_matter(corpus: Path) -> None:
    doc = load_file(corpus / "leitfaeden" / "leitfaden-datenschutz.md")
    assert doc.doc_id == "leitfaden-datenschutz"
    assert doc.title == "Leitfaden Datenschutz"
    assert doc.doc_type == "leitfaden"
    assert doc.date == "2026-11-01"
    assert doc.tags == ("datenschutz", "dsfa")
    assert doc.visibility == "public"
    assert "## 3 Datenschutz-Folgenabschätzung" in doc.text
    assert "---" not in doc.text.splitlines()[0]


def test_missing_front_matter_gets_defaults(tmp_path: Path) -> None:
    folder = tmp_path / "checklisten"
    folder.mkdir()
    (folder / "ohne-kopf.md").write_text("# Meine Liste\n\n- [ ] Punkt\n", encoding="utf-8")
    (folder / "nur-text.md").write_text("Kein Titel hier.\n", encoding="utf-8")
    doc = load_file(folder / "ohne-kopf.md")
    assert (doc.title, doc.doc_type, doc.visibility) == ("Meine Liste", "checkliste", "public")
    assert load_file(folder / "nur-text.md").title == "Nur Text"


def test_pdf_pages_and_outline(tmp_path: Path) -> None:
    path = tmp_path / "betrieb.pdf"
    make_pdf(path, "Leitfaden Betrieb", [("1 Betrieb", "Erster Text."), ("2 Pflege", "Zweiter Text.")])
    doc = load_file(path)
    assert doc.title == "Leitfaden Betrieb"
    lines = [line for line in doc.text.splitlines() if line]
    assert lines[:3] == ["<!-- page: 1 -->", "## 1 Betrieb", "Erster Text."]
    assert "<!-- page: 2 -->" in lines and "## 2 Pflege" in lines


def test_docx_headings_and_lists(tmp_path: Path) -> None:
    path = tmp_path / "vorlage.docx"
    make_docx(path, "Vorlage Rat", [("1 Beschluss", "Der Rat beschließt.")])
    doc = load_file(path)
    assert doc.title == "Vorlage Rat"
    assert "## 1 Beschluss" in doc.text and "- Erster Punkt der Liste" in doc.text


def test_html_structure(tmp_path: Path) -> None:
    path = tmp_path / "seite.html"
    path.write_text(
        "<html><head><title>Seite</title><script>alert(1)</script></head><body>"
        "<h1>Seite</h1><h2>1 Teil</h2><p>Ein Absatz.</p><ul><li>Punkt <b>A</b></li></ul></body></html>",
        encoding="utf-8",
    )
    doc = load_file(path)
    assert doc.title == "Seite"
    assert "## 1 Teil" in doc.text and "- Punkt A" in doc.text and "alert" not in doc.text


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "notiz.txt"
    path.write_bytes("Größere Änderungen an der Geodateninfrastruktur müssen geprüft werden.".encode("cp1252"))
    assert "Größere Änderungen" in load_file(path).text


def _reason(path: Path, settings: IngestSettings | None = None) -> tuple[IngestCode, str]:
    with pytest.raises(LotseError) as info:
        load_file(path, settings)
    return info.value.code, info.value.message


@pytest.mark.parametrize(
    "name, content, code, words",
    [
        ("kaputt.pdf", b"%PDF-1.7\n1 0 obj<<>>\ngarbage", IngestCode.UNREADABLE_FILE, "PDF"),
        ("kein-zip.docx", b"this is not a zip archive at all", IngestCode.UNREADABLE_FILE, "ZIP"),
        ("leer.md", b"", IngestCode.EMPTY_FILE, "leer"),
        ("binaer.txt", b"\x00\x01\x02\xff\xfe" * 100, IngestCode.UNREADABLE_FILE, "Binärdaten"),
        ("tabelle.xlsx", b"PK\x03\x04", IngestCode.UNSUPPORTED_FILE, ".xlsx"),
        ("kopf.md", b"---\ntitle: [unclosed\n---\nText", IngestCode.UNREADABLE_FILE, "YAML"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, name: str, content: bytes, code: IngestCode, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    got_code, message = _reason(path)
    assert got_code == code
    assert words in message


def test_password_protected_pdf(tmp_path: Path) -> None:
    path = tmp_path / "geheim.pdf"
    make_pdf(path, "Geheim", [("1 A", "Text.")], password="s3cret")
    assert _reason(path) == (IngestCode.UNREADABLE_FILE, "PDF ist passwortgeschützt")


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "riesig.txt"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    code, message = _reason(path)
    assert code == IngestCode.FILE_TOO_LARGE and "50 MB" in message


def test_zip_bomb_docx(tmp_path: Path) -> None:
    path = tmp_path / "bombe.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (30 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    code, message = _reason(path, IngestSettings(max_unpacked_mb=10))
    assert code == IngestCode.FILE_TOO_LARGE and "ZIP-Bombe" in message
