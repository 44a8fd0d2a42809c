"""Builders for real PDF and DOCX test files."""

from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, title: str, sections: list[tuple[str, str]], password: str | None = None) -> None:
    """A real PDF: one section per page, a bookmark (outline entry) per section heading."""
    import pymupdf

    doc = pymupdf.open()
    toc = []
    for number, (heading, body) in enumerate(sections, start=1):
        page = doc.new_page()
        page.insert_text((72, 72), heading, fontsize=16)
        page.insert_textbox(pymupdf.Rect(72, 100, 520, 700), body, fontsize=11)
        toc.append([1, heading, number])
    doc.set_toc(toc)
    doc.set_metadata({"title": title})
    if password:
        doc.save(str(path), encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password)
    else:
        doc.save(str(path))


def make_docx(path: Path, title: str, sections: list[tuple[str, str]]) -> None:
    """A real DOCX with a Title paragraph and Heading 1 per section."""
    import docx

    document = docx.Document()
    document.add_paragraph(title, style="Title")
    for heading, body in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(body)
        document.add_paragraph("Erster Punkt der Liste", style="List Bullet")
    document.core_properties.title = title
    document.save(str(path))
