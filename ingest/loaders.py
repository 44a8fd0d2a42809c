"""Read corpus files (Markdown, PDF, DOCX, HTML, text) into `Document`s of normalised Markdown.

Every loader returns Markdown: `#` headings, `- ` list items, `> ` template blocks and, for PDF,
`<!-- page: N -->` markers, so one chunker serves all formats. Any problem with a file raises
`LotseError` with a German message naming the reason; the pipeline names the file.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from ingest.errors import IngestCode, LotseError
from ingest.settings import IngestSettings
from ingest.types import DOC_TYPES, VISIBILITIES, Document

LOADER_VERSION = "1"
FOLDER_TYPES = {
    "leitfaeden": "leitfaden",
    "checklisten": "checkliste",
    "vorlagen": "vorlage",
    "sitzungen": "sitzung",
    "verzeichnis": "verzeichnis",
}
PAGE_MARKER = "<!-- page: {} -->"
PAGE_MARKER_RE = re.compile(r"^<!-- page: (\d+) -->$")
_BULLETS = ("•", "▪", "◦", "☐", "□", "–", "-", "*")


def content_hash(data: bytes) -> str:
    """Hash of a file's bytes and the loader version: what decides re-embedding."""
    return hashlib.sha256(LOADER_VERSION.encode() + b"\0" + data).hexdigest()


def doc_id_for(path: Path) -> str:
    """A document's id: its file name without extension, lower case."""
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-") or "dokument"


def _fail(code: IngestCode, reason: str) -> LotseError:
    return LotseError(code, reason)


# --- formats -----------------------------------------------------------------------------------


def _decode_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise _fail(IngestCode.UNREADABLE_FILE, "enthält Binärdaten, kein Text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None or best.chaos > 0.2:
        raise _fail(IngestCode.UNREADABLE_FILE, "Zeichenkodierung nicht erkennbar (kein UTF-8)")
    return str(best)


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        return {}, text
    match = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|$)", text, re.S)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise _fail(IngestCode.UNREADABLE_FILE, f"Front Matter ist kein gültiges YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise _fail(IngestCode.UNREADABLE_FILE, "Front Matter ist keine Schlüssel-Wert-Liste")
    return meta, text[match.end():]


def _load_markdown(data: bytes, settings: IngestSettings) -> tuple[dict[str, Any], str]:
    return _split_front_matter(_decode_text(data).replace("\r\n", "\n"))


def _load_text(data: bytes, settings: IngestSettings) -> tuple[dict[str, Any], str]:
    return {}, _decode_text(data).replace("\r\n", "\n")


def _load_html(data: bytes, settings: IngestSettings) -> tuple[dict[str, Any], str]:
    from bs4 import BeautifulSoup, Tag

    try:
        soup = BeautifulSoup(data, "lxml")
    except RecursionError as exc:
        raise _fail(IngestCode.UNREADABLE_FILE, "HTML ist zu tief verschachtelt") from exc
    for tag in soup(["script", "style", "nav", "footer", "header", "noscript", "template"]):
        tag.decompose()
    meta: dict[str, Any] = {}
    if soup.title and soup.title.get_text(strip=True):
        meta["title"] = soup.title.get_text(strip=True)
    lines: list[str] = []
    wanted = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "tr"]
    for el in soup.find_all(wanted):
        if not isinstance(el, Tag) or el.find_parent(["li", "blockquote", "pre"]) is not None:
            continue
        name = el.name or ""
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if name.startswith("h"):
            lines.append("#" * int(name[1]) + " " + text)
        elif name == "li":
            box = el.find("input", attrs={"type": "checkbox"})
            lines.append(("- [ ] " if box is not None else "- ") + text)
        elif name == "blockquote":
            lines.append("> " + text)
        elif name == "pre":
            lines.append("```\n" + el.get_text() + "\n```")
        elif name == "tr":
            cells = [c.get_text(" ", strip=True) for c in el.find_all(["td", "th"])]
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append(text)
    return meta, "\n\n".join(lines)


def _load_pdf(data: bytes, settings: IngestSettings) -> tuple[dict[str, Any], str]:
    import pymupdf

    try:
        # pymupdf's Document is untyped (no annotations on __init__, no element type): a seam held as Any
        doc: Any = pymupdf.open(stream=data, filetype="pdf")  # type: ignore[no-untyped-call]
    except Exception as exc:  # pymupdf raises several types for broken files
        raise _fail(IngestCode.UNREADABLE_FILE, f"PDF ist beschädigt ({type(exc).__name__})") from exc
    with doc:
        if doc.needs_pass or doc.is_encrypted:
            raise _fail(IngestCode.UNREADABLE_FILE, "PDF ist passwortgeschützt")
        if doc.page_count == 0:
            raise _fail(IngestCode.UNREADABLE_FILE, "PDF ist beschädigt (keine lesbaren Seiten)")
        meta: dict[str, Any] = {}
        info = doc.metadata or {}
        meta.update({k: info[k] for k in ("title",) if info.get(k)})
        if info.get("keywords"):
            meta["tags"] = info["keywords"]
        toc: dict[int, list[tuple[int, str]]] = {}
        for level, heading, page in doc.get_toc(simple=True):
            toc.setdefault(page, []).append((level, " ".join(heading.split())))
        parts: list[str] = []
        try:
            for number, page in enumerate(doc, start=1):
                parts.append(PAGE_MARKER.format(number))
                headings = list(toc.get(number, []))
                for block in page.get_text("blocks", sort=False):
                    if block[6] != 0:  # image block
                        continue
                    text = " ".join(str(block[4]).split())
                    if not text:
                        continue
                    match = next((h for h in headings if h[1] == text), None)
                    if match:
                        headings.remove(match)
                        parts.append("#" * min(match[0] + 1, 6) + " " + text)
                    elif text.startswith(_BULLETS) and len(text) > 2:
                        parts.append("- " + text[1:].lstrip(" ]").lstrip())
                    else:
                        parts.append(text)
        except Exception as exc:
            raise _fail(IngestCode.UNREADABLE_FILE, f"PDF ist nicht lesbar ({type(exc).__name__})") from exc
    return meta, "\n\n".join(parts)


def _load_docx(data: bytes, settings: IngestSettings) -> tuple[dict[str, Any], str]:
    import io

    import docx

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise _fail(IngestCode.UNREADABLE_FILE, "DOCX ist keine gültige Office-Datei (kein ZIP)") from exc
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > settings.max_unpacked_mb * 1024 * 1024:
        raise _fail(
            IngestCode.FILE_TOO_LARGE,
            f"DOCX entpackt zu groß ({unpacked / 1e6:.0f} MB; mögliche ZIP-Bombe)",
        )
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise _fail(IngestCode.UNREADABLE_FILE, f"DOCX ist beschädigt ({type(exc).__name__})") from exc
    meta: dict[str, Any] = {}
    if document.core_properties.title:
        meta["title"] = document.core_properties.title
    if document.core_properties.keywords:
        meta["tags"] = document.core_properties.keywords
    lines: list[str] = []
    for para in document.paragraphs:
        text = " ".join(para.text.split())
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = re.match(r"(?:Heading|Überschrift)\s*(\d)", style)
        if style == "Title":
            meta.setdefault("title", text)
            lines.append("# " + text)
        elif level:
            lines.append("#" * min(int(level.group(1)) + 1, 6) + " " + text)
        elif style.startswith(("List", "Liste")):
            lines.append("- " + text)
        elif style in ("Quote", "Intense Quote", "Zitat"):
            lines.append("> " + text)
        else:
            lines.append(text)
    for table in document.tables:
        for row in table.rows:
            lines.append("| " + " | ".join(c.text.strip() for c in row.cells) + " |")
    return meta, "\n\n".join(lines)


LOADERS: dict[str, Callable[[bytes, IngestSettings], tuple[dict[str, Any], str]]] = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
}


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


# --- metadata ----------------------------------------------------------------------------------


def _as_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value)


def _title_from_text(text: str) -> str | None:
    match = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)
    return match.group(1).strip() if match else None


def _doc_type(meta_type: Any, path: Path) -> str:
    if isinstance(meta_type, str) and meta_type.lower() in DOC_TYPES:
        return meta_type.lower()
    for part in reversed(path.parts[:-1]):
        if part.lower() in FOLDER_TYPES:
            return FOLDER_TYPES[part.lower()]
    return "dokument"


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [t for t in re.split(r"[,;]", value)]
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(sorted({str(t).strip().lower() for t in value if str(t).strip()}))


def load_bytes(path: Path, data: bytes, settings: IngestSettings) -> Document:
    """Parse one file's bytes into a Document; raises LotseError naming the reason."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise _fail(IngestCode.UNSUPPORTED_FILE, f"Dateityp {path.suffix or '(ohne Endung)'} wird nicht unterstützt")
    if not data.strip():
        raise _fail(IngestCode.EMPTY_FILE, "Datei ist leer")
    meta, body = loader(data, settings)
    body = body.strip()
    if not re.sub(r"<!-- page: \d+ -->|\s", "", body):
        raise _fail(IngestCode.EMPTY_FILE, "enthält keinen lesbaren Text")
    visibility = str(meta.get("visibility", "public")).lower()
    if visibility not in VISIBILITIES:
        raise _fail(IngestCode.UNREADABLE_FILE, f"visibility '{visibility}' ist weder public noch internal")
    title = _as_str(meta.get("title")) or _title_from_text(body) or path.stem.replace("-", " ").title()
    return Document(
        doc_id=_as_str(meta.get("id")) or doc_id_for(path),
        title=title.strip(),
        doc_type=_doc_type(meta.get("type"), path),
        text=body,
        source_path=str(path),
        content_hash=content_hash(data),
        date=_as_str(meta.get("date")),
        tags=_tags(meta.get("tags")),
        visibility=visibility,
        source_url=_as_str(meta.get("source_url") or meta.get("url")),
    )


def read_file(path: Path, settings: IngestSettings) -> bytes:
    """Read a file's bytes after checking its type and size; raises LotseError."""
    if not supported(path):
        raise _fail(IngestCode.UNSUPPORTED_FILE, f"Dateityp {path.suffix or '(ohne Endung)'} wird nicht unterstützt")
    size = path.stat().st_size
    if size > settings.max_file_mb * 1024 * 1024:
        raise _fail(
            IngestCode.FILE_TOO_LARGE,
            f"Datei zu groß ({size / 1024 / 1024:.0f} MB, erlaubt {settings.max_file_mb:g} MB)",
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _fail(IngestCode.UNREADABLE_FILE, f"nicht lesbar ({exc.strerror})") from exc


def load_file(path: Path, settings: IngestSettings | None = None) -> Document:
    """Load one file from disk into a Document."""
    settings = settings or IngestSettings()
    return load_bytes(path, read_file(path, settings), settings)
