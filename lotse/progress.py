"""Plain progress lines for `lotse ingest` when stderr is no terminal (logs, pipes, CI, docker).

The pipeline reports `progress(done, total)` in chunks once before embedding and after each
document. `ProgressLines` turns that into a line every `every_seconds` or every
`every_fraction` of the work, whichever comes first; while running, a ticker thread also
writes a line when nothing was said for `every_seconds` (model conversion, reading files,
one long document, the keyword index at the end), so a slow run never looks hung.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def duration(seconds: float) -> str:
    """`42 s`, `3 min 5 s`, `1 h 12 min`."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class ProgressLines:
    """`progress(done, total)` as plain lines, e.g.
    `Einlesen: 120/486 Abschnitte (25 %), 9 Dokumente, 5.1/s, noch ~72 s`."""

    def __init__(self, write: Callable[[str], None], every_seconds: float = 5.0, every_fraction: float = 0.10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self.every_seconds = every_seconds
        self.every_fraction = every_fraction
        self._clock = clock
        self._lock = threading.Lock()
        self._begun = clock()  # the command started: preparing until the first report
        self._started: float | None = None  # embedding started (the first report)
        self._finished: float | None = None  # the last chunk was embedded
        self._last_line = self._begun
        self._last_done = 0
        self.done = self.total = self.documents = 0

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            now = self._clock()
            self.total = total
            if self._started is None:
                self._started = now
                self._say(f"Einlesen: {total} Abschnitte einzubetten …" if total else "Einlesen: nichts Neues einzubetten.", now)
                return
            self.done = done
            self.documents += 1
            if done >= total and self._finished is None:
                self._finished = now
            step = max(1, int(self.every_fraction * total))
            if done >= total or now - self._last_line >= self.every_seconds or done - self._last_done >= step:
                self._say(self.status(now), now)
                self._last_done = done

    def status(self, now: float | None = None) -> str:
        """The line for the current state."""
        now = self._clock() if now is None else now
        if self._started is None:
            return f"Einlesen: Vorbereitung (Modell laden, Dateien lesen und zerlegen) … {duration(now - self._begun)}"
        if self._finished is not None:
            embedded = duration(self._finished - self._started)
            return (f"Einlesen: {self.total}/{self.total} Abschnitte eingebettet nach {embedded}; "
                    f"Index wird abgeschlossen … {duration(now - self._begun)} insgesamt")
        if not self.total:
            return f"Einlesen: Index wird abgeschlossen … {duration(now - self._begun)}"
        elapsed = now - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        line = (f"Einlesen: {self.done}/{self.total} Abschnitte ({100 * self.done // self.total} %), "
                f"{self.documents} {'Dokument' if self.documents == 1 else 'Dokumente'}, {rate:.1f}/s")
        return line + (f", noch ~{duration((self.total - self.done) / rate)}" if rate > 0 else f", {duration(elapsed)} bisher")

    def tick(self) -> None:
        """Say where things stand if nothing was said for `every_seconds`."""
        with self._lock:
            now = self._clock()
            if now - self._last_line >= self.every_seconds:
                self._say(self.status(now), now)

    @contextmanager
    def running(self, poll: float = 0.5) -> Iterator[ProgressLines]:
        """Tick in a background thread while the body runs."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(min(poll, self.every_seconds)):
                self.tick()

        ticker = threading.Thread(target=loop, name="ingest-progress", daemon=True)
        ticker.start()
        try:
            yield self
        finally:
            stop.set()
            ticker.join()

    def _say(self, line: str, now: float) -> None:
        self._last_line = now
        self._write(line)


def model_note(backend: str, variant: str, models_dir: Path) -> str | None:
    """A sentence for the start line when the embedding model must first be converted."""
    if backend != "e5-torch":
        return None
    try:
        from ingest.e5_convert import converted_dir, is_current, source_stamp

        folder = converted_dir(models_dir, variant)
        if is_current(folder, source_stamp(variant, with_hash=False)) or is_current(folder, source_stamp(variant)):
            return None
    except Exception:  # noqa: BLE001 - only a hint; the embedder reports real problems itself
        return None
    return (f"Erster Lauf auf diesem Rechner: das Embedding-Modell wird einmalig umgewandelt "
            f"(~10–20 s, danach wiederverwendet aus {folder}).")
