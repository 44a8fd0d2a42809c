"""Incremental ingest: embed new and changed documents, drop deleted ones, keep the rest.

The manifest is the chunk metadata in Chroma itself (content hash, source paths, chunk count),
so it can never disagree with the index. New chunks are written before old ones are deleted
and the keyword index is switched atomically: a run killed at any point leaves a queryable
index, and the next run finishes the job.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.chunking import chunk_document
from ingest.errors import IngestCode, LotseError
from ingest.index import Index
from ingest.loaders import content_hash, load_bytes, read_file
from ingest.settings import IndexSettings
from ingest.types import Chunk, Document, IngestReport, StoredChunk, Vector
from ingest.units import split_units, unit_ids

Progress = Callable[[int, int], None]
SKIPPED_NAMES = ("README.md", "README", "README.txt")
# Test hook for the crash test (tests/integration/test_crash.py), inert unless the variable is set.
PAUSE_AFTER_FIRST_WRITE = "LOTSE_TEST_PAUSE_AFTER_FIRST_WRITE"


def _pause_after_first_write_for_tests() -> None:
    """With LOTSE_TEST_PAUSE_AFTER_FIRST_WRITE=<file>: create that file, then block until killed.

    Called once, right after the first group of documents was written to the store, so a test
    can kill the ingest at exactly that point (never set this in production).
    """
    marker = os.environ.get(PAUSE_AFTER_FIRST_WRITE)
    if not marker:
        return
    Path(marker).touch()
    while True:
        time.sleep(0.1)


def display_path(path: Path) -> str:
    """How a source path is recorded: relative to the working directory when inside it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def scan(roots: Iterable[Path]) -> list[Path]:
    """All candidate files below the roots, skipping hidden, `_`-prefixed and README files."""
    found: set[Path] = set()
    for root in roots:
        if root.is_file():
            found.add(root)
            continue
        if not root.is_dir():
            raise LotseError(IngestCode.CONFIGURATION, f"Pfad nicht gefunden: {root}")
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
            for name in filenames:
                if not name.startswith((".", "_")) and name not in SKIPPED_NAMES:
                    found.add(Path(dirpath) / name)
    return sorted(found)


@dataclass
class _Group:
    """The chunks of one content hash as found in the store."""

    ids: list[str] = field(default_factory=list)
    units: dict[str, int] = field(default_factory=dict)  # chunk id -> its unit count
    n_chunks: int = 0
    sources: tuple[str, ...] = ()
    doc_id: str = ""

    @property
    def complete(self) -> bool:
        return self.n_chunks > 0 and len(self.ids) == self.n_chunks


def _read_state(index: Index) -> dict[str, _Group]:
    groups: dict[str, _Group] = defaultdict(_Group)
    for stored in index.store.iter_all():
        group = groups[stored.content_hash]
        group.ids.append(stored.chunk_id)
        group.units[stored.chunk_id] = stored.n_units
        group.n_chunks = stored.n_chunks
        group.sources = stored.sources
        group.doc_id = stored.doc_id
    return dict(groups)


def _under(source: str, roots: list[str]) -> bool:
    return any(source == r or source.startswith(r.rstrip("/") + "/") for r in roots)


@dataclass
class _Scan:
    """What the files under the roots hold now, against what the store holds."""

    present: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # content hash -> sources
    pending: dict[str, Document] = field(default_factory=dict)  # content hash -> document to embed
    failed: set[str] = field(default_factory=set)


def _scan_files(roots: list[Path], settings: IndexSettings, state: dict[str, _Group], path_hashes: dict[str, set[str]],
                report: IngestReport, on_failure: Callable[[str, str], None] | None) -> _Scan:
    found = _Scan()
    for path in scan(roots):
        source = display_path(path)
        try:
            data = read_file(path, settings.ingest)
            digest = content_hash(data)
            if not (digest in state and state[digest].complete) and digest not in found.pending:
                found.pending[digest] = load_bytes(path, data, settings.ingest)
        except LotseError as exc:
            report.failed.append((source, exc.message))
            found.failed.add(source)
            if on_failure:
                on_failure(source, exc.message)
            continue
        found.present[digest].append(source)
        previous = path_hashes.get(source, set())
        (report.unchanged if digest in previous else report.changed if previous else report.new).append(source)
    return found


def _drop_gone(index: Index, state: dict[str, _Group], present: dict[str, list[str]], protected: set[str],
               root_names: list[str], written: set[str]) -> int:
    """Delete the chunks (and unit vectors) of content that is gone. Content that failed to load
    this time is kept (nothing indexed is lost), and so is what came from outside the roots."""
    removed: list[tuple[str, int]] = []  # (chunk id, unit count)
    for digest, group in state.items():
        outside = [s for s in group.sources if s and not _under(s, root_names)]
        if digest in present:
            present[digest] = sorted(set(present[digest]) | set(outside))
        elif digest in protected:
            continue
        elif outside and group.complete:
            present[digest] = outside
        else:
            # an unchanged section of an edited document keeps its id and was just rewritten
            removed.extend((i, group.units.get(i, 0)) for i in group.ids if i not in written)
    index.store.delete([i for i, _ in removed])
    index.units.delete([u for i, n in removed for u in unit_ids(i, n)])
    return len(removed)


def _relabel(index: Index, state: dict[str, _Group], present: dict[str, list[str]], pending: dict[str, Document]) -> int:
    """Record new source paths of unchanged content (a file moved or copied): no re-embedding."""
    relabelled = 0
    for digest, sources in present.items():
        group = state.get(digest)
        if group and digest not in pending and tuple(sorted(sources)) != tuple(sorted(group.sources)):
            index.store.update_sources(index.store.get(group.ids), sorted(sources))
            relabelled += 1
    return relabelled


def run_ingest(
    index: Index,
    settings: IndexSettings,
    roots: list[Path] | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    on_failure: Callable[[str, str], None] | None = None,
) -> IngestReport:
    """Bring the index in line with the files under `roots` (default: the corpus folder)."""
    started = time.perf_counter()
    report = IngestReport()
    roots = roots or [settings.paths.corpus_dir]
    root_names = [display_path(r) for r in roots]
    state = _read_state(index)
    path_hashes: dict[str, set[str]] = defaultdict(set)
    for digest, group in state.items():
        for source in group.sources:
            path_hashes[source].add(digest)
    found = _scan_files(roots, settings, state, path_hashes, report, on_failure)
    if not (strict and report.failed):
        _assign_doc_ids(found.pending, state, found.present)
        written = _embed(index, settings, found.pending, found.present, report, progress)
        protected = {d for s in found.failed for d in path_hashes.get(s, set())}
        removed = _drop_gone(index, state, found.present, protected, root_names, written)
        current = {s for sources in found.present.values() for s in sources}
        report.deleted = sorted(s for s in path_hashes if _under(s, root_names) and s not in current and s not in found.failed)
        if found.pending or removed or _relabel(index, state, found.present, found.pending) or index.keyword_stale():
            index.rebuild_keyword()
        report.chunks_total = index.store.count()
    report.seconds = time.perf_counter() - started
    return report


def index_documents(index: Index, settings: IndexSettings, docs: Sequence[Document], progress: Progress | None = None) -> IngestReport:
    """Bring the index in line with documents held in memory (e.g. an external benchmark corpus):
    new content is embedded, content no longer among `docs` is deleted."""
    started = time.perf_counter()
    report = IngestReport()
    state = _read_state(index)
    present: dict[str, list[str]] = {d.content_hash: [d.source_path] for d in docs}
    pending = {d.content_hash: d for d in docs if not (d.content_hash in state and state[d.content_hash].complete)}
    written = _embed(index, settings, pending, present, report, progress)
    removed = _drop_gone(index, state, present, set(), [], written)
    if pending or removed or index.keyword_stale():
        index.rebuild_keyword()
    report.new = [d.source_path for d in pending.values()]
    report.chunks_total = index.store.count()
    report.seconds = time.perf_counter() - started
    return report


def stored_chunk(chunk: Chunk, doc: Document, sources: tuple[str, ...], n_chunks: int) -> StoredChunk:
    """The record the store keeps for a chunk: its text and its document's fields."""
    return StoredChunk(
        chunk_id=chunk.chunk_id, text=chunk.text, doc_id=doc.doc_id, title=doc.title, doc_type=doc.doc_type,
        visibility=doc.visibility, section_path=chunk.section_path, anchor=chunk.anchor, page=chunk.page,
        position=chunk.position, kind=chunk.kind, tags=doc.tags, date=doc.date or "",
        source_url=doc.source_url or "", sources=sources, content_hash=doc.content_hash, n_chunks=n_chunks,
    )


def _assign_doc_ids(pending: dict[str, Document], state: dict[str, _Group], present: dict[str, list[str]]) -> None:
    """Give every new document a doc id no other current document uses."""
    taken = {g.doc_id for d, g in state.items() if d in present and d not in pending}
    for digest in sorted(pending, key=lambda d: pending[d].source_path):
        doc = pending[digest]
        doc_id = doc.doc_id
        if doc_id in taken:
            suffix = Path(doc.source_path).suffix.lstrip(".").lower() or "2"
            doc_id = f"{doc.doc_id}-{suffix}"
            n = 2
            while doc_id in taken:
                doc_id, n = f"{doc.doc_id}-{suffix}{n}", n + 1
        taken.add(doc_id)
        pending[digest] = dataclasses.replace(doc, doc_id=doc_id)


def _vectors(index: Index, texts: list[str], report: IngestReport) -> Vector:
    """Passage vectors in one call (the embedder sorts by length and batches itself)."""
    if not texts:
        return np.zeros((0, index.embedder.dim), dtype=np.float32)
    t0 = time.perf_counter()
    vectors = index.embedder.embed_passages(texts)
    report.embed_seconds += time.perf_counter() - t0
    return vectors


Planned = tuple[str, Document, list[Chunk]]  # content hash, document, its chunks


def _groups(planned: list[Planned], size: int) -> Iterable[list[Planned]]:
    """Whole documents in groups of about `size` chunks (many small documents embed and write
    far faster together than one call each)."""
    group: list[Planned] = []
    for item in planned:
        group.append(item)
        if sum(len(chunks) for _, _, chunks in group) >= size:
            yield group
            group = []
    if group:
        yield group


def _write_group(index: Index, group: list[Planned], present: dict[str, list[str]], report: IngestReport) -> list[str]:
    """Embed and store one group: unit vectors first, then the chunks (so a stored chunk always
    has its unit vectors). Returns the chunk ids written."""
    chunks = [(digest, doc, c, len(cs)) for digest, doc, cs in group for c in cs]
    units = [split_units(c.text) for _, _, c, _ in chunks]
    keys = [(uid, c.chunk_id) for (_, _, c, _), us in zip(chunks, units, strict=True) for uid in unit_ids(c.chunk_id, len(us))]
    index.units.upsert([k for k, _ in keys], [c for _, c in keys], _vectors(index, [u.text for us in units for u in us], report))
    vectors = _vectors(index, [c.embed_text() for _, _, c, _ in chunks], report)
    stored = [
        dataclasses.replace(stored_chunk(c, doc, tuple(sorted(present[digest])), n), n_units=len(us))
        for (digest, doc, c, n), us in zip(chunks, units, strict=True)
    ]
    index.store.upsert(stored, vectors)
    report.chunks_embedded += len(stored)
    report.units_embedded += len(keys)
    return [c.chunk_id for c in stored]


def _embed(
    index: Index, settings: IndexSettings, pending: dict[str, Document], present: dict[str, list[str]], report: IngestReport,
    progress: Progress | None,
) -> set[str]:
    """Chunk, embed and store the pending documents; returns the chunk ids written."""
    count = index.embedder.count_tokens
    planned = [(digest, doc, chunk_document(doc, settings.chunking, count)) for digest, doc in pending.items()]
    total = sum(len(chunks) for _, _, chunks in planned)
    if progress:
        progress(0, total)
    written: set[str] = set()
    for group in _groups([p for p in planned if p[2]], settings.embedder.group_chunks):
        first_write = not written
        written.update(_write_group(index, group, present, report))
        if progress:
            progress(report.chunks_embedded, total)
        if first_write:
            _pause_after_first_write_for_tests()
    return written
