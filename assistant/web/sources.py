"""The source view: a document rendered from its indexed chunks, one anchor per section."""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

from ingest.stores import StoredChunk

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_CHECKBOX = re.compile(r"^(\s*[-*+]\s+)\[[ xX]\]\s+", re.M)

PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
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
    meta = chunks[0].metadata
    title = str(meta.get("title", doc_id))
    parts: list[str] = []
    current_anchor = None
    previous = ""
    for chunk in chunks:
        anchor = str(chunk.metadata.get("anchor", ""))
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
    details = [LABELS.get(str(meta.get("doc_type", "")), "Dokument")]
    if meta.get("date"):
        details.append(f"Stand {html.escape(str(meta['date']))}")
    if download:
        details.append(f'<a href="/sources/{html.escape(doc_id)}/original">Originaldatei herunterladen</a>')
    if meta.get("source_url"):
        url = html.escape(str(meta["source_url"]))
        details.append(f'<a href="{url}" rel="noopener">Veröffentlichung</a>')
    return PAGE.format(title=html.escape(title), meta=" · ".join(details), body="\n".join(parts))
