"""Heading-aware chunking of normalised Markdown into `Chunk`s.

A chunk never crosses a heading; list items (checklist points), block quotes (template blocks),
tables and code blocks are never cut. A section longer than `max_tokens` is split between
blocks, and a single paragraph longer than that between sentences, with a short sentence
overlap. Sizes are counted with the embedder's own tokenizer.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ingest.loaders import PAGE_MARKER_RE
from ingest.settings import ChunkingSettings
from ingest.types import Chunk, Document

CHUNKER_VERSION = "2"
TokenCounter = Callable[[str], int]

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LIST_RE = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+")
_CHECK_RE = re.compile(r"^\s{0,3}[-*+]\s+\[[ xX]\]\s+")
_SENTENCE_RE = re.compile(r"(?<=[.!?…:;])\s+(?=[\"„(A-ZÄÖÜ0-9])")
_ABBREVIATION_END = re.compile(
    r"(?:(?<![\w])[A-Za-zÄÖÜäöü]|\b(?:Art|Abs|Nr|ca|bzw|vgl|Dr|Ziff|lit|gem|inkl|Mio|Mrd|Tsd|Std|u\.a|z\.B|d\.h)|(?<![\w.])\d{1,2})\.$"
)


def slugify(text: str) -> str:
    """An URL anchor for a heading: ascii, lower case, hyphens ('3.2 DSFA' -> '3-2-dsfa')."""
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "ae").replace("Ö", "oe").replace("Ü", "ue")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "abschnitt"


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences (German punctuation aware, abbreviations tolerated)."""
    parts = [p.strip() for p in _SENTENCE_RE.split(text) if p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and _ABBREVIATION_END.search(merged[-1]):
            merged[-1] += " " + part
        else:
            merged.append(part)
    return merged


@dataclass
class Block:
    kind: str  # paragraph | item | check | quote | table | code
    text: str
    page: int | None


@dataclass
class Section:
    path: tuple[str, ...]
    anchor: str
    blocks: list[Block]


def parse_sections(doc: Document) -> list[Section]:
    """Split a document's Markdown into sections (one per heading) holding their blocks."""
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    anchors: dict[str, int] = {}
    page: int | None = None
    current = Section((doc.title,), "top", [])
    lines = doc.text.split("\n")
    i = 0

    def flush() -> None:
        title_only = current.anchor == "top" and all(b.text in doc.title for b in current.blocks)
        if current.blocks and not title_only:
            sections.append(current)

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        page_match = PAGE_MARKER_RE.match(stripped)
        heading = _HEADING_RE.match(stripped)
        if page_match:
            page = int(page_match.group(1))
            i += 1
        elif heading:
            level, title = len(heading.group(1)), heading.group(2).strip()
            flush()
            if level == 1 and title == doc.title:
                stack = []
            else:
                stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
            slug = slugify(title) if stack else "top"
            anchors[slug] = anchors.get(slug, 0) + 1
            if anchors[slug] > 1:
                slug = f"{slug}-{anchors[slug]}"
            current = Section((doc.title, *[t for _, t in stack]), slug, [])
            i += 1
        elif not stripped:
            i += 1
        elif stripped.startswith("```"):
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith("```"):
                end += 1
            current.blocks.append(Block("code", "\n".join(lines[i : end + 1]), page))
            i = end + 1
        else:
            kind = (
                "check" if _CHECK_RE.match(line)
                else "item" if _LIST_RE.match(line)
                else "quote" if stripped.startswith(">")
                else "table" if stripped.startswith("|")
                else "paragraph"
            )
            end = i + 1
            while end < len(lines):
                nxt = lines[end]
                nxt_stripped = nxt.strip()
                if not nxt_stripped:
                    if kind == "quote" and end + 1 < len(lines) and lines[end + 1].strip().startswith(">"):
                        end += 1
                        continue
                    break
                if _HEADING_RE.match(nxt_stripped) or PAGE_MARKER_RE.match(nxt_stripped):
                    break
                if kind in ("item", "check") and _LIST_RE.match(nxt):
                    break
                if kind == "quote" and not nxt_stripped.startswith(">"):
                    break
                if kind == "table" and not nxt_stripped.startswith("|"):
                    break
                if kind == "paragraph" and (_LIST_RE.match(nxt) or nxt_stripped.startswith((">", "|", "```"))):
                    break
                end += 1
            text = "\n".join(l.rstrip() for l in lines[i:end]).strip()
            current.blocks.append(Block(kind, text, page))
            i = end
    flush()
    return sections


def _split_long(block: Block, max_tokens: int, count: TokenCounter) -> list[Block]:
    """Split one over-long block between sentences (or hard, by words, as a last resort)."""
    pieces: list[str] = []
    buffer = ""
    for sentence in split_sentences(block.text.replace("\n", " ")):
        candidate = f"{buffer} {sentence}".strip()
        if buffer and count(candidate) > max_tokens:
            pieces.append(buffer)
            buffer = sentence
        else:
            buffer = candidate
        while count(buffer) > max_tokens:
            words = buffer.split()
            cut = max(1, len(words) * max_tokens // max(count(buffer), 1) - 1)
            pieces.append(" ".join(words[:cut]))
            buffer = " ".join(words[cut:])
    if buffer:
        pieces.append(buffer)
    return [Block(block.kind, p, block.page) for p in pieces]


SOURCE_HEADINGS = re.compile(r"^(?:\d+(?:\.\d+)*\s+)?(?:Quellen|Quellenverzeichnis|Literatur|Belege|Sources|References)$", re.I)


def _chunk_kind(blocks: list[Block], heading: str) -> str:
    if SOURCE_HEADINGS.match(heading):
        return "sources"
    kinds = {b.kind for b in blocks}
    if "check" in kinds:
        return "checklist"
    if "quote" in kinds:
        return "template"
    return "text"


def chunk_document(doc: Document, settings: ChunkingSettings, count: TokenCounter) -> list[Chunk]:
    """Chunk a document; chunk ids are stable for the same document, section and text."""
    budget = settings.max_tokens - 16  # room for the section path line
    chunks: list[Chunk] = []
    for section in parse_sections(doc):
        header_tokens = count(" › ".join(section.path))
        limit = max(32, budget - header_tokens)
        blocks: list[Block] = []
        for block in section.blocks:
            blocks.extend(_split_long(block, limit, count) if count(block.text) > limit else [block])
        for group in _group(blocks, limit, settings.overlap_tokens, count):
            text = "\n\n".join(b.text for b in group)
            position = len(chunks)
            digest = hashlib.sha256(
                f"{doc.doc_id}\0{section.anchor}\0{position}\0{text}".encode()
            ).hexdigest()[:20]
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}:{digest}",
                    doc_id=doc.doc_id,
                    section_path=section.path,
                    anchor=section.anchor,
                    text=text,
                    position=position,
                    page=group[0].page,
                    tokens=count(text),
                    kind=_chunk_kind(group, section.path[-1]),
                )
            )
    return chunks


def _group(blocks: list[Block], limit: int, overlap: int, count: TokenCounter) -> Iterator[list[Block]]:
    group: list[Block] = []
    size = 0
    for block in blocks:
        tokens = count(block.text)
        if group and size + tokens > limit:
            yield group
            tail = group[-1]
            group, size = [], 0
            if overlap and tail.kind == "paragraph" and block.kind == "paragraph":
                last = split_sentences(tail.text)[-1]
                if count(last) <= overlap and count(last) + tokens <= limit:
                    group, size = [Block("paragraph", last, tail.page)], count(last)
        group.append(block)
        size += tokens
    if group:
        yield group
