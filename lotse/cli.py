"""The `lotse` command: a thin layer over the packages (each command a few lines)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from assistant.errors import LotseError
from assistant.settings import Settings, describe, load_settings
from eval.cli import app as eval_app
from eval.cli import report_app

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Lotse – Antworten aus den Leitfäden zu kommunalen Digitalen Zwillingen."
)
console = Console()
errors = Console(stderr=True)


def _fail(exc: LotseError) -> None:
    errors.print(f"[red]Fehler:[/red] {exc.message}")
    raise typer.Exit(2)


@app.command()
def config() -> None:
    """Zeigt die wirksamen Einstellungen (Geheimnisse maskiert)."""
    table = Table("Variable", "Wert", "Bedeutung", show_lines=False)
    for env, value, description in describe(load_settings()):
        table.add_row(env, value, description)
    console.print(table)


def _say(line: str) -> None:
    """One plain line on stderr, at once (pipes buffer otherwise)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _start_line(settings: Settings, roots: list[Path]) -> str:
    """What `lotse ingest` is about to do, and whether the model is converted first."""
    from ingest.pipeline import display_path, scan
    from lotse.progress import model_note

    try:
        files = f"{len(scan(roots))} Dateien in "
    except LotseError:
        files = ""  # run_ingest reports the missing path
    embedder = settings.embedder.backend + (f" ({settings.embedder.model})" if settings.embedder.model else "")
    where = ", ".join(display_path(r) for r in roots)
    line = f"Einlesen: {files}{where}; neue und geänderte Dokumente werden mit {embedder} eingebettet, unveränderte übersprungen."
    note = model_note(settings.embedder.backend, settings.embedder.model or "original", settings.paths.models())
    return f"{line} {note}" if note else line


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Dateien oder Ordner (Standard: der Korpus)")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Bei jedem fehlerhaften Dokument abbrechen, nichts ändern.")] = False,
) -> None:
    """Liest den Korpus ein: neue und geänderte Dokumente, gelöschte werden entfernt.

    Auf einem Terminal mit Fortschrittsbalken, sonst (Pipe, Log, CI) mit Fortschrittszeilen.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ingest.index import open_index
    from ingest.pipeline import run_ingest
    from lotse.progress import ProgressLines

    settings = load_settings()
    roots = list(paths) if paths else None
    _say(_start_line(settings, roots or [settings.paths.corpus_dir]))

    def skipped(source: str, reason: str) -> None:
        errors.print(f"[yellow]übersprungen:[/yellow] {source} – {reason}")

    try:
        if errors.is_terminal and not errors.is_dumb_terminal:
            index = open_index(settings)
            columns = (TextColumn("Einbetten"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=errors, transient=True) as bar:
                task = bar.add_task("embed", total=None)
                report = run_ingest(index, settings, roots=roots, strict=strict, on_failure=skipped,
                                    progress=lambda done, total: bar.update(task, completed=done, total=total))
        else:
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no tqdm bars with \r in logs
            with ProgressLines(_say).running() as lines:
                index = open_index(settings)
                report = run_ingest(index, settings, roots=roots, strict=strict, progress=lines, on_failure=skipped)
    except LotseError as exc:
        _fail(exc)
        return
    if strict and report.failed:
        errors.print(f"[red]Abgebrochen (--strict):[/red] {len(report.failed)} Datei(en) fehlerhaft, Index unverändert.")
        raise typer.Exit(1)
    rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds else 0.0
    console.print(
        f"Index [bold]{index.name}[/bold]: {len(report.new)} neu, {len(report.changed)} geändert, "
        f"{len(report.unchanged)} unverändert, {len(report.deleted)} gelöscht, {len(report.failed)} fehlerhaft; "
        f"{report.chunks_embedded} Abschnitte eingebettet ({rate:.1f}/s), {report.chunks_total} im Index; "
        f"{report.seconds:.1f} s"
    )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="Die Frage")],
    k: Annotated[int, typer.Option("-k", help="Treffer je Verfahren")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben")] = False,
) -> None:
    """Zeigt die besten Abschnitte (dicht, Stichwort, fusioniert) mit Werten und Abschnittspfad."""
    from assistant.retrieval import Retriever
    from ingest.index import open_index

    try:
        retrieval = Retriever(open_index(load_settings())).retrieve(question, k=k)
    except LotseError as exc:
        _fail(exc)
        return
    lists = {"dense": retrieval.dense, "keyword": retrieval.keyword, "fused": retrieval.fused}
    if as_json:
        out = {
            name: [
                {"chunk_id": h.chunk.chunk_id, "score": round(h.score, 4), "doc_id": h.chunk.doc_id,
                 "section": " › ".join(h.chunk.section_path), "page": h.chunk.page}
                for h in hits
            ]
            for name, hits in lists.items()
        }
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
        return
    for name, hits in lists.items():
        table = Table("#", "Wert", "Abschnitt", "S.", "Text", title=name)
        for rank, hit in enumerate(hits, 1):
            text = " ".join(hit.chunk.text.split())
            table.add_row(str(rank), f"{hit.score:.3f}", " › ".join(hit.chunk.section_path),
                          str(hit.chunk.page or ""), text[:90] + ("…" if len(text) > 90 else ""))
        console.print(table)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Die Frage (Deutsch oder Englisch)")],
    as_json: Annotated[bool, typer.Option("--json", help="Antwort als JSON")] = False,
    generator: Annotated[str | None, typer.Option(help="extractive oder openai (Standard: Einstellung)")] = None,
    doc_type: Annotated[list[str] | None, typer.Option("--type", help="Nur diese Dokumentarten")] = None,
    public_only: Annotated[bool, typer.Option("--public", help="Nur öffentliche Dokumente")] = False,
) -> None:
    """Beantwortet eine Frage mit Quellen (Abschnitt, Seite) und Zeiten."""
    from assistant.answer import AnswerEngine
    from ingest.types import Filters

    settings = load_settings()
    if generator:
        settings.generator.backend = generator  # type: ignore[assignment]
    filters = Filters(doc_types=tuple(doc_type or ()), visibility=("public",) if public_only else ("public", "internal"))
    try:
        answer = AnswerEngine(settings).answer(question, filters=filters)
    except LotseError as exc:
        _fail(exc)
        return
    if as_json:
        sys.stdout.write(json.dumps(answer.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    console.print(answer.text, markup=False, highlight=False)
    for note in answer.notes:
        console.print(f"[yellow]Hinweis:[/yellow] {note}")
    sources = answer.citations or answer.sources
    if sources:
        table = Table("#", "Dokument › Abschnitt", "S.", "Link", title="Quellen" if answer.citations else "Nächstliegende Quellen")
        for c in sources:
            table.add_row(str(c.n), c.section, str(c.page or ""), c.url)
        console.print(table)
    t = answer.timings
    console.print(
        f"[dim]Zeiten: einbetten {t.embed:.2f} s, suchen {t.retrieve:.2f} s, antworten {t.generate:.2f} s, gesamt {t.total:.2f} s[/dim]"
    )


@app.command()
def slack() -> None:
    """Startet den Slack-Bot im Socket Mode (ohne öffentliche URL)."""
    from assistant.slack.app import run_socket_mode, slack_configured

    settings = load_settings()
    problem = slack_configured(settings, socket_mode=True)
    if problem:
        errors.print(f"[red]Fehler:[/red] {problem}")
        raise typer.Exit(2)
    try:
        console.print("Lotse verbindet sich mit Slack (Socket Mode) …")
        run_socket_mode(settings)
    except LotseError as exc:
        _fail(exc)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Adresse (Standard: LOTSE_WEB__HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (Standard: LOTSE_WEB__PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker-Prozesse (Standard: LOTSE_WEB__WORKERS)")] = None,
) -> None:
    """Startet den Webdienst: Chat-API, Widget, Quellenansicht (und Slack, falls eingerichtet)."""
    import uvicorn

    settings = load_settings()
    host = host or settings.web.host
    port = port or settings.web.port
    workers = workers or settings.web.workers
    console.print(f"Lotse läuft auf http://{host}:{port} – Demo mit Widget unter /, API-Doku unter /docs")
    uvicorn.run("lotse.asgi:app", host=host, port=port, workers=workers, log_level="info", proxy_headers=False)


app.add_typer(eval_app, name="eval")
app.add_typer(report_app, name="report")


if __name__ == "__main__":
    app()
