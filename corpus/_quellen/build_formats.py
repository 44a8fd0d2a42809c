"""Rebuild the PDF and DOCX documents of the corpus from their Markdown sources.

Sources live in `corpus/_quellen/<pdf|docx>/<folder>/<name>.md` (not indexed); the output goes
to `corpus/<folder>/<name>.<pdf|docx>`. PDFs get one bookmark per heading and page numbers,
DOCX files use the Title/Heading/List/Quote styles, so Lotse's loaders recover the structure.

Run: .venv/bin/python corpus/_quellen/build_formats.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml
from datetime import datetime, timezone

SOURCES = Path(__file__).resolve().parent
ROOT = SOURCES.parent
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$")


def parse(path: Path) -> tuple[dict, list[tuple[str, str]]]:
    """Front matter and a list of (kind, text) blocks: h1..h6, item, quote, para."""
    text = path.read_text(encoding="utf-8")
    meta: dict = {}
    if text.startswith("---"):
        _, head, text = text.split("---", 2)
        meta = yaml.safe_load(head) or {}
    blocks: list[tuple[str, str]] = []
    for raw in re.split(r"\n\s*\n", text.strip()):
        lines = raw.strip().splitlines()
        if not lines:
            continue
        heading = HEADING.match(lines[0])
        if heading and len(lines) == 1:
            blocks.append((f"h{len(heading.group(1))}", heading.group(2)))
        elif lines[0].lstrip().startswith(">"):
            blocks.append(("quote", " ".join(l.lstrip()[1:].strip() for l in lines).strip()))
        elif re.match(r"^\s*[-*]\s", lines[0]):
            item: list[str] = []
            for line in lines:
                if re.match(r"^\s*[-*]\s", line) and item:
                    blocks.append(("item", " ".join(item)))
                    item = []
                item.append(re.sub(r"^\s*[-*]\s+", "", line).strip() if not item else line.strip())
            blocks.append(("item", " ".join(item)))
        else:
            blocks.append(("para", " ".join(l.strip() for l in lines)))
    return meta, [(kind, clean(text)) for kind, text in blocks]


def clean(text: str) -> str:
    """Drop Markdown emphasis and turn links into 'text (url)'."""
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"\1 (\2)", text)
    return re.sub(r"\*\*|__|(?<!\w)\*(?!\s)|(?<!\s)\*(?!\w)", "", text)


def build_pdf(meta: dict, blocks: list[tuple[str, str]], out: Path) -> None:
    import matplotlib
    from fpdf import FPDF

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_title(str(meta.get("title", out.stem)))
    pdf.set_author("Online-Programm kommunale Digitale Zwillinge")
    pdf.set_keywords(", ".join(meta.get("tags", [])))
    pdf.set_creation_date(datetime(2026, 11, 1, tzinfo=timezone.utc))  # reproducible bytes
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    for kind, text in blocks:
        if kind == "h1":
            pdf.set_font("DejaVu", "B", 18)
            pdf.multi_cell(0, 9, text)
            pdf.ln(3)
        elif kind.startswith("h"):
            level = int(kind[1]) - 1
            if pdf.get_y() > 250:
                pdf.add_page()
            pdf.start_section(text, level=level - 1)
            pdf.set_font("DejaVu", "B", 15 if level == 1 else 12)
            pdf.ln(2)
            pdf.multi_cell(0, 7, text)
            pdf.ln(1)
        else:
            pdf.set_font("DejaVu", "", 10.5)
            prefix = "– " if kind == "item" else ""
            indent = 6 if kind in ("item", "quote") else 0
            pdf.set_x(pdf.l_margin + indent)
            pdf.multi_cell(0, 5.5, prefix + text)
            pdf.ln(2)
    pdf.output(str(out))


def build_docx(meta: dict, blocks: list[tuple[str, str]], out: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = str(meta.get("title", out.stem))
    document.core_properties.keywords = ", ".join(meta.get("tags", []))
    for kind, text in blocks:
        if kind == "h1":
            document.add_paragraph(text, style="Title")
        elif kind.startswith("h"):
            document.add_heading(text, level=int(kind[1]) - 1)
        elif kind == "item":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "quote":
            document.add_paragraph(text, style="Quote")
        else:
            document.add_paragraph(text)
    document.save(str(out))


def main() -> int:
    built = 0
    for fmt, build in (("pdf", build_pdf), ("docx", build_docx)):
        for source in sorted((SOURCES / fmt).rglob("*.md")):
            folder = source.parent.relative_to(SOURCES / fmt)
            out = ROOT / folder / f"{source.stem}.{fmt}"
            meta, blocks = parse(source)
            build(meta, blocks, out)
            print(f"{source.relative_to(ROOT)} -> {out.relative_to(ROOT)}")
            built += 1
    return 0 if built else 1


if __name__ == "__main__":
    sys.exit(main())
