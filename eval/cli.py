"""`lotse eval` (question set, XQuAD) and `lotse report gaps`: thin commands over eval/."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    invoke_without_command=True,
    help="Auswertung: das Fragenset durch Lotse schicken (ohne Unterbefehl wie `eval run`) oder XQuAD-de messen.",
)
report_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Berichte für Autorinnen und Autoren der Leitfäden.")
console = Console()
errors = Console(stderr=True)

QuestionsOpt = Annotated[
    list[Path] | None,
    typer.Option("--questions", "-q", help="Fragen-YAML (mehrfach möglich; Standard: eval/questions/*.yaml)", exists=True, dir_okay=False),
]
GeneratorOpt = Annotated[str | None, typer.Option(help="extractive oder openai (Standard: Einstellung)")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Ausgabeordner (Standard: eval/runs/<Zeitstempel>)")]
CompareOpt = Annotated[
    Path | None, typer.Option("--compare", help="Früheres report.json (oder dessen Ordner) zum Vergleich", exists=True)
]
GateOpt = Annotated[bool, typer.Option("--gate/--no-gate", help="Mit Fehlercode 1 enden, wenn eine Schwelle aus eval/thresholds.yaml verfehlt wird")]
ThresholdsOpt = Annotated[Path | None, typer.Option("--thresholds", help="Schwellenwerte (Standard: eval/thresholds.yaml)", exists=True, dir_okay=False)]

MAIN_METRICS = (
    "questions", "hit@1", "hit@5", "MRR@10", "nDCG@10", "key-fact recall", "supported sentences",
    "citation precision", "citation recall", "invented citations", "true refusals", "false refusals",
    "passed", "total p50 (s)", "total p95 (s)",
)


def _default_out() -> Path:
    return Path(__file__).resolve().parent / "runs" / datetime.now().strftime("%Y%m%d-%H%M%S")


def run_eval(
    questions_files: list[Path] | None = None,
    generator: str | None = None,
    out: Path | None = None,
    compare: Path | None = None,
    gate: bool = False,
    thresholds: Path | None = None,
) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from assistant.answer import AnswerEngine
    from assistant.settings import load_settings
    from eval.gate import check, load_thresholds
    from eval.questions import load_questions
    from eval.report import VERDICT_DE, fmt, fmt_delta, run_info, write_report
    from eval.runner import run_questions
    from ingest.errors import LotseError

    if generator not in (None, "extractive", "openai"):
        errors.print(f"[red]Fehler:[/red] unbekannter Generator '{generator}' (extractive oder openai)")
        raise typer.Exit(2)
    settings = load_settings()
    if generator:
        settings.generator.backend = generator  # type: ignore[assignment]
    questions = load_questions(questions_files)
    if not questions:
        errors.print("[red]Fehler:[/red] keine Fragen gefunden")
        raise typer.Exit(2)
    out = out or _default_out()
    try:
        engine = AnswerEngine(settings)
        if engine.index.store.count() == 0:
            errors.print("[red]Fehler:[/red] der Index ist leer – zuerst `lotse ingest` ausführen.")
            raise typer.Exit(2)
        started = datetime.now()
        with Progress(TextColumn("Fragen"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=errors, transient=True) as bar:
            task = bar.add_task("eval", total=len(questions))
            results = run_questions(engine, questions, progress=lambda done: bar.update(task, completed=done))
    except LotseError as exc:
        errors.print(f"[red]Fehler:[/red] {exc.message}")
        raise typer.Exit(2)
    seconds = (datetime.now() - started).total_seconds()
    written = write_report(out, questions, results, run_info(engine, questions_files, started=started.isoformat(timespec="seconds"),
                                                             seconds=round(seconds, 1)), compare_with=compare)
    metrics = written.report["metrics"]
    table = Table("Metrik", "Wert", title=f"Auswertung: {len(questions)} Fragen, Generator {settings.generator.backend}")
    for name in MAIN_METRICS:
        if name in metrics:
            table.add_row(name, fmt(name, metrics[name]))
    console.print(table)
    if written.comparison is not None:
        diff = Table("Metrik", "vorher", "nachher", "Δ", "", title="Vergleich")
        colors = {"better": "green", "worse": "red", "same": "dim"}
        for d in written.comparison.metrics:
            diff.add_row(d.metric, fmt(d.metric, d.before), fmt(d.metric, d.after), fmt_delta(d.metric, d.delta),
                         f"[{colors[d.verdict]}]{VERDICT_DE[d.verdict]}[/]")
        console.print(diff)
        c = written.comparison
        console.print(f"Jetzt nicht mehr bestanden: {', '.join(c.now_failing) or '–'}")
        console.print(f"Jetzt bestanden: {', '.join(c.now_passing) or '–'}")
    console.print(f"Bericht: {written.markdown_path} (auch report.json, chart.png)")
    if gate:
        violations = check(metrics, load_thresholds(thresholds))
        if violations:
            errors.print("[red]Qualitätsschwellen verletzt:[/red]")
            for v in violations:
                errors.print(f"  - {v}")
            raise typer.Exit(1)
        console.print("[green]Qualitätsschwellen eingehalten.[/green]")


@app.callback()
def main(
    ctx: typer.Context,
    questions: QuestionsOpt = None,
    generator: GeneratorOpt = None,
    out: OutOpt = None,
    compare: CompareOpt = None,
    gate: GateOpt = False,
    thresholds: ThresholdsOpt = None,
) -> None:
    """Auswertung: ohne Unterbefehl läuft das Fragenset (wie `lotse eval run`)."""
    if ctx.invoked_subcommand is None:
        run_eval(questions, generator, out, compare, gate, thresholds)


@app.command("run")
def run_command(
    questions: QuestionsOpt = None,
    generator: GeneratorOpt = None,
    out: OutOpt = None,
    compare: CompareOpt = None,
    gate: GateOpt = False,
    thresholds: ThresholdsOpt = None,
) -> None:
    """Schickt das Fragenset durch Lotse und schreibt report.md, report.json und chart.png."""
    run_eval(questions, generator, out, compare, gate, thresholds)


@app.command("xquad")
def xquad_command(
    data: Annotated[Path | None, typer.Option("--data", help="XQuAD-Datei (Standard: ../shared/data/xquad.de.json neben dem Repository)")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Nur die ersten N Fragen (schneller Lauf)")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Ordner für xquad.json und xquad.md")] = None,
) -> None:
    """Retrieval-Benchmark auf XQuAD-de: dicht, Stichwort und fusioniert (hit@1, hit@5, MRR@10)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )

    from assistant.settings import load_settings
    from eval.xquad import DEFAULT_DATA, run_xquad, write_xquad

    path = data or DEFAULT_DATA
    if not path.exists():
        errors.print(f"[red]Fehler:[/red] XQuAD-Datei {path} nicht gefunden (Option --data)")
        raise typer.Exit(2)
    labels = {"paragraphs": "Absätze einbetten", "questions": "Fragen einbetten"}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=errors, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done)

        result = run_xquad(load_settings(), path, limit=limit, progress=progress)
    table = Table("Verfahren", "hit@1", "hit@5", "MRR@10",
                  title=f"XQuAD-de: {result.questions} Fragen, {result.paragraphs} Absätze, {result.embedder}")
    for method, values in result.metrics.items():
        table.add_row(method, *(f"{values[m]:.3f}" for m in ("hit@1", "hit@5", "MRR@10")))
    console.print(table)
    console.print(f"[dim]{result.seconds.get('total', 0):.1f} s (Absatzvektoren {'aus dem Cache' if result.cached else 'neu berechnet'})[/dim]")
    if out:
        json_path, md_path = write_xquad(result, out)
        console.print(f"Geschrieben: {md_path}, {json_path}")


@report_app.command("gaps")
def gaps_command(
    days: Annotated[int, typer.Option("--days", min=1, help="Zeitraum in Tagen")] = 90,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Markdown-Datei (Standard: Ausgabe auf dem Terminal)")] = None,
    export_candidates: Annotated[Path | None, typer.Option("--export-candidates", help="👎-Fragen als Kandidaten im Fragenset-Format (YAML) schreiben")] = None,
    threshold: Annotated[float, typer.Option("--threshold", min=0.0, max=1.0, help="Ähnlichkeit, ab der Fragen ein Thema bilden")] = 0.87,
) -> None:
    """Abgelehnte und mit 👎 bewertete Fragen (Web und Slack), nach Thema gruppiert."""
    from assistant.feedback import FeedbackStore
    from assistant.settings import load_settings
    from eval.gaps import candidates_yaml, gaps_report
    from ingest.embedders import build_embedder

    settings = load_settings()
    store = FeedbackStore(settings.db, settings.paths.data_dir)
    report = gaps_report(store, build_embedder(settings.embedder), days, threshold)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.markdown, encoding="utf-8")
        errors.print(f"Bericht: {out} – {len(report.clusters)} Themen aus {sum(c.count for c in report.clusters)} Fragen")
    else:
        sys.stdout.write(report.markdown)
    if export_candidates:
        export_candidates.parent.mkdir(parents=True, exist_ok=True)
        export_candidates.write_text(candidates_yaml(report.candidates), encoding="utf-8")
        errors.print(f"Kandidaten: {export_candidates} – {len(report.candidates)} Fragen")
