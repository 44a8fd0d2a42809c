"""`lotse ingest` with stderr piped (logs, CI, docker): plain progress lines instead of silence."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^Einlesen: \d+/(\d+) Abschnitte \(\d+ %\), \d+ Dokumente?, \d+\.\d/s, noch ~\d+ (s|min)")


def _ingest(command: list[str], corpus: Path, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    # one document per write group: the small corpus gives several progress steps, as a large one would
    env = dict(os.environ, LOTSE_PATHS__CORPUS_DIR=str(corpus), LOTSE_PATHS__DATA_DIR=str(tmp_path / "data"),
               LOTSE_EMBEDDER__GROUP_CHUNKS="1", **extra)
    return subprocess.run([*command, "ingest"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_piped_ingest_prints_progress_lines(corpus: Path, tmp_path: Path) -> None:
    fake = [sys.executable, str(TESTS / "lotse_fake_embedder.py")]  # the real CLI, fake embedder
    first = _ingest(fake, corpus, tmp_path)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert lines[0].startswith("Einlesen: 5 Dateien in corpus; neue und geänderte Dokumente werden mit e5-torch eingebettet")
    planned = next(line for line in lines if line.endswith("Abschnitte einzubetten …"))
    total = int(planned.split()[1])
    progress = [line for line in lines if LINE.match(line)]
    assert progress and all(LINE.match(line).group(1) == str(total) for line in progress), first.stderr  # type: ignore[union-attr]
    assert f"Einlesen: {total}/{total} Abschnitte eingebettet nach" in first.stderr
    assert "\r" not in first.stderr and "\x1b[" not in first.stderr, "plain lines, no bar or colour codes"
    assert "5 neu" in first.stdout

    again = _ingest(fake, corpus, tmp_path)
    assert "Einlesen: nichts Neues einzubetten." in again.stderr.splitlines()


def test_piped_ingest_with_the_real_embedder(corpus: Path, tmp_path: Path) -> None:
    """The converted model is cached (tests share one): no conversion note, no tqdm bars with \\r."""
    run = _ingest([sys.executable, "-m", "lotse.cli"], corpus, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith("Einlesen: 5 Dateien in corpus;") and "Erster Lauf" not in run.stderr
    assert any(LINE.match(line) for line in run.stderr.splitlines()), run.stderr
    assert "\r" not in run.stderr, "no progress bars from loading the model"
