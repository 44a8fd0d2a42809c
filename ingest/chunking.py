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


def _block_kind(line: str) -> str:
    stripped = line.strip()
    if _CHECK_RE.match(line):
        return "check"
    if _LIST_RE.match(line):
        return "item"
    if stripped.startswith(">"):
        return "quote"
    return "table" if stripped.startswith("|") else "paragraph"


def _block_end(lines: list[str], start: int, kind: str) -> int:
    """Where a block of `kind` that starts at `start` ends (exclusive)."""
    end = start + 1
    while end < len(lines):
        nxt = lines[end]
        stripped = nxt.strip()
        if not stripped:
            if kind == "quote" and end + 1 < len(lines) and lines[end + 1].strip().startswith(">"):
                end += 1
                continue
            break
        if _HEADING_RE.match(stripped) or PAGE_MARKER_RE.match(stripped):
            break
        if (kind in ("item", "check") and _LIST_RE.match(nxt)) or (kind == "quote" and not stripped.startswith(">")):
            break
        if (kind == "table" and not stripped.startswith("|")) or (
            kind == "paragraph" and (_LIST_RE.match(nxt) or stripped.startswith((">", "|", "```")))
        ):
            break
        end += 1
    return end


class _SectionBuilder:
    """Walks a document's lines, one section per heading."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.stack: list[tuple[int, str]] = []
        self.sections: list[Section] = []
        self.anchors: dict[str, int] = {}
        self.current = Section((doc.title,), "top", [])

    def flush(self) -> None:
        title_only = self.current.anchor == "top" and all(b.text in self.doc.title for b in self.current.blocks)
        if self.current.blocks and not title_only:
            self.sections.append(self.current)

    def heading(self, level: int, title: str) -> None:
        self.flush()
        if level == 1 and title == self.doc.title:
            self.stack = []
        else:
            self.stack = [(lvl, t) for lvl, t in self.stack if lvl < level] + [(level, title)]
        slug = slugify(title) if self.stack else "top"
        self.anchors[slug] = self.anchors.get(slug, 0) + 1
        if self.anchors[slug] > 1:
            slug = f"{slug}-{self.anchors[slug]}"
        self.current = Section((self.doc.title, *[t for _, t in self.stack]), slug, [])


def parse_sections(doc: Document) -> list[Section]:
    """Split a document's Markdown into sections (one per heading) holding their blocks."""
    builder = _SectionBuilder(doc)
    page: int | None = None
    lines = doc.text.split("\n")
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        page_match = PAGE_MARKER_RE.match(stripped)
        heading = _HEADING_RE.match(stripped)
        if page_match:
            page, i = int(page_match.group(1)), i + 1
        elif heading:
            builder.heading(len(heading.group(1)), heading.group(2).strip())
            i += 1
        elif not stripped:
            i += 1
        elif stripped.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines))
            builder.current.blocks.append(Block("code", "\n".join(lines[i : end + 1]), page))
            i = end + 1
        else:
            kind = _block_kind(lines[i])
            end = _block_end(lines, i, kind)
            builder.current.blocks.append(Block(kind, "\n".join(line.rstrip() for line in lines[i:end]).strip(), page))
            i = end
    builder.flush()
    return builder.sections


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
