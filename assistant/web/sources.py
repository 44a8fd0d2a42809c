"""The source view: a document rendered from its indexed chunks, one anchor per section."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from markdown_it import MarkdownIt
from starlette.concurrency import run_in_threadpool

from assistant.errors import LotseError, ServiceCode, index_unavailable
from assistant.service import Service
from assistant.web.deps import CallerDep, ServiceDep
from ingest.types import StoredChunk

_MD = MarkdownIt("commonmark", {"html": False, "linkify": True}).enable(["table", "linkify"])
_CHECKBOX = re.compile(r"^(\s*[-*+]\s+)\[[ xX]\]\s+", re.M)

PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><link rel="icon" href="/favicon.ico">\
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Lotse</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:52rem;margin:0 auto;padding:1.5rem;line-height:1.6;color:#1c2430}}
header{{border-bottom:1px solid #d9dee5;margin-bottom:1.5rem}} .meta{{color:#5b6675;font-size:.9rem}}
section{{scroll-margin-top:1rem;padding:.25rem .75rem;border-left:3px solid transparent}}
section:target{{border-left-color:#0b5cad;background:#eef5fc}}
.page{{color:#5b6675;font-size:.8rem}} blockquote{{border-left:3px solid #c9d3df;margin:0;padding-left:1rem;color:#2d3b4d}}
a{{color:#0b5cad}}
</style></head><body>
<header><h1>{title}</h1><p class="meta">{meta}</p></header>
<main>{body}</main>
</body></html>"""

LABELS = {"leitfaden": "Leitfaden", "checkliste": "Checkliste", "vorlage": "Vorlage", "sitzung": "Sitzungsnotiz",
          "verzeichnis": "Verzeichnis", "dokument": "Dokument"}


def _without_overlap(previous: str, text: str) -> str:
    """Drop the sentence a split section repeats at the start of its next chunk."""
    tail = previous.rstrip().rsplit(". ", 1)[-1]
    return text[len(tail):].lstrip() if tail and len(tail) < len(text) and text.startswith(tail) else text


def render_document(doc_id: str, chunks: list[StoredChunk], download: bool) -> str:
    """The whole document as one HTML page, one `<section id=anchor>` per section."""
    first = chunks[0]
    parts: list[str] = []
    current_anchor = None
    previous = ""
    for chunk in chunks:
        anchor = chunk.anchor
        path = chunk.section_path
        text = chunk.text if anchor != current_anchor else _without_overlap(previous, chunk.text)
        if anchor != current_anchor:
            if current_anchor is not None:
                parts.append("</section>")
            level = min(len(path) + 1, 6)
            heading = f"<h{level}>{html.escape(path[-1])}</h{level}>" if len(path) > 1 else ""
            parts.append(f'<section id="{html.escape(anchor)}">{heading}')
            current_anchor = anchor
        if chunk.page:
            parts.append(f'<p class="page">Seite {chunk.page}</p>')
        parts.append(_MD.render(_CHECKBOX.sub(r"\1☐ ", text)))
        previous = chunk.text
    if current_anchor is not None:
        parts.append("</section>")
    details = [LABELS.get(first.doc_type, "Dokument")]
    if first.date:
        details.append(f"Stand {html.escape(first.date)}")
    if download:
        details.append(f'<a href="/sources/{html.escape(doc_id)}/original">Originaldatei herunterladen</a>')
    if first.source_url.startswith(("https://", "http://")):
        details.append(f'<a href="{html.escape(first.source_url)}" rel="noopener">Veröffentlichung</a>')
    return PAGE.format(title=html.escape(first.title or doc_id), meta=" · ".join(details), body="\n".join(parts))


router = APIRouter(tags=["sources"])


def _visible_chunks(service: Service, doc_id: str, visibility: tuple[str, ...]) -> list[StoredChunk]:
    try:
        chunks = service.engine.index.store.document(doc_id)
    except LotseError:
        raise
    except Exception as exc:
        raise index_unavailable() from exc
    visible = [c for c in chunks if c.visibility in visibility]
    if not visible:
        raise LotseError(ServiceCode.NOT_FOUND, f"Dokument „{doc_id}“ nicht gefunden.", f"Document '{doc_id}' not found.")
    return visible


def _original(service: Service, chunks: list[StoredChunk]) -> Path | None:
    """The document's file, when it lies inside the corpus folder on this server."""
    corpus = service.settings.paths.corpus_dir.resolve()
    for source in chunks[0].sources:
        path = Path(source).resolve()
        if path.is_file() and path.is_relative_to(corpus):
            return path
    return None


@router.get("/sources/{doc_id}", response_class=HTMLResponse, summary="Dokument lesen (Anker je Abschnitt)")
async def source(doc_id: str, service: ServiceDep, caller: CallerDep) -> HTMLResponse:
    chunks = await run_in_threadpool(_visible_chunks, service, doc_id, caller.visibility)
    return HTMLResponse(render_document(doc_id, chunks, _original(service, chunks) is not None))


@router.get("/sources/{doc_id}/original", summary="Originaldatei herunterladen")
async def original(doc_id: str, service: ServiceDep, caller: CallerDep) -> FileResponse:
    chunks = await run_in_threadpool(_visible_chunks, service, doc_id, caller.visibility)
    path = _original(service, chunks)
    if path is None:
        raise LotseError(
            ServiceCode.NOT_FOUND, "Die Originaldatei liegt auf diesem Server nicht vor.", "The original file is not on this server."
        )
    return FileResponse(path, filename=path.name)
