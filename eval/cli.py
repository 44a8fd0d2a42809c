"""`lotse eval …` and `lotse report gaps`: thin commands over eval/ (composed into `lotse` by lotse.cli)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assistant.errors import LotseError

if TYPE_CHECKING:
    from assistant.answer import AnswerEngine

app = typer.Typer(
    add_completion=False,
    invoke_without_command=True,
    help="Auswertung: das Fragenset durch Lotse schicken (ohne Unterbefehl wie `eval run`), externe Sätze messen, abstimmen.",
)
report_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Berichte für Autorinnen und Autoren der Leitfäden.")
console = Console()
errors = Console(stderr=True)
Progress = Callable[[str, int, int], None]

QuestionsOpt = Annotated[
    list[Path] | None,
    typer.Option("--questions", "-q", help="Fragen-YAML (mehrfach möglich; Standard: eval/questions/*.yaml)", exists=True, dir_okay=False),
]
SplitOpt = Annotated[str | None, typer.Option("--split", help="Nur dev oder test (Standard: beide)")]
GeneratorOpt = Annotated[str | None, typer.Option(help="extractive oder openai (Standard: Einstellung)")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Ausgabeordner (Standard: eval/runs/<Zeitstempel>)")]
CompareOpt = Annotated[
    Path | None, typer.Option("--compare", help="Früheres report.json (oder dessen Ordner) zum Vergleich", exists=True)
]
GateOpt = Annotated[
    bool, typer.Option("--gate/--no-gate", help="Mit Fehlercode 1 enden, wenn eine Schwelle aus eval/thresholds.yaml verfehlt wird")
]
ThresholdsOpt = Annotated[
    Path | None, typer.Option("--thresholds", help="Schwellenwerte (Standard: eval/thresholds.yaml)", exists=True, dir_okay=False)
]
SetsOpt = Annotated[str | None, typer.Option("--sets", help="Kommagetrennt: xquad, mlqa, germanquad, nomiracl (Standard: alle)")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="Ordner der Datensätze (Standard: ../shared/data neben dem Repository)")]

MAIN_METRICS = (
    "questions", "hit@1", "hit@5", "MRR@10", "nDCG@10", "key-fact recall", "supported sentences",
    "citation precision", "citation recall", "invented citations", "true refusals", "false refusals",
    "passed", "key fact first", "list completeness", "hygiene violations", "words per answer", "total p50 (s)", "total p95 (s)",
)


def fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[red]Fehler:[/red] {message}")
    return typer.Exit(code)


@contextmanager
def progress_lines() -> Iterator[Progress]:
    """A progress callback: a live bar on a terminal, else a line every 10 % (logs, CI)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    if not errors.is_terminal:
        shown: dict[str, int] = {}

        def line(stage: str, done: int, total: int) -> None:
            step = max(total // 10, 1)
            if done == total or done // step > shown.get(stage, -1):
                shown[stage] = done // step
                errors.print(f"{stage}: {done}/{total}")

        yield line
        return
    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
             console=errors, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def corpus_engine(generator: str | None = None) -> AnswerEngine:
    """The engine over the configured index; a clear error when it is empty."""
    from assistant.answer import AnswerEngine
    from assistant.settings import load_settings

    if generator not in (None, "extractive", "openai"):
        raise fail(f"unbekannter Generator '{generator}' (extractive oder openai)")
    settings = load_settings()
    if generator:
        settings.generator.backend = generator  # type: ignore[assignment]
    engine = AnswerEngine(settings)
    if engine.index.store.count() == 0:
        raise fail("der Index ist leer – zuerst `lotse ingest` ausführen.")
    return engine


def _print_metrics(report: dict[str, object], title: str) -> None:
    metrics = report["metrics"]
    splits = report.get("by_split") or {}
    assert isinstance(metrics, dict) and isinstance(splits, dict)
    from eval.report import fmt

    table = Table("Metrik", "alle", *splits, title=title)
    for name in MAIN_METRICS:
        if name in metrics:
            table.add_row(name, fmt(name, metrics[name]), *(fmt(name, splits[s].get(name)) for s in splits))
    console.print(table)


def _gate(metrics: dict[str, float | None], thresholds: Path | None, external: dict[str, dict[str, float | None]] | None = None) -> None:
    from eval.gate import check, check_external, format_violations, load_thresholds

    limits = load_thresholds(thresholds)
    violations = check(metrics, limits) + (check_external(external, limits) if external is not None else [])
    if violations:
        errors.print(f"[red]{format_violations(violations)}[/red]")
        raise typer.Exit(1)
    console.print(f"[green]Qualitätsschwellen eingehalten[/green] (Preset {limits.preset or '–'}).")


def run_eval(questions_files: list[Path] | None = None, generator: str | None = None, out: Path | None = None,
             compare: Path | None = None, gate: bool = False, thresholds: Path | None = None, split: str | None = None) -> None:
    """The question set through Lotse; report.md/json/png; the gate checks the test split."""
    from eval.questions import load_questions
    from eval.report import run_info, write_report
    from eval.runner import run_questions

    questions = load_questions(questions_files, split=split)  # type: ignore[arg-type]
    if not questions:
        raise fail("keine Fragen gefunden")
    out = out or Path(__file__).resolve().parent / "runs" / datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        engine = corpus_engine(generator)
        started = datetime.now()
        with progress_lines() as progress:
            results = run_questions(engine, questions, progress=lambda done: progress("Fragen", done, len(questions)))
    except LotseError as exc:
        raise fail(exc.message) from exc
    info = run_info(engine, questions_files, started=started.isoformat(timespec="seconds"),
                    seconds=round((datetime.now() - started).total_seconds(), 1))
    written = write_report(out, questions, results, info, compare_with=compare)
    _print_metrics(written.report, f"Auswertung: {len(questions)} Fragen, Generator {engine.settings.generator.backend}")
    console.print(f"Bericht: {written.markdown_path} (auch report.json, chart.png)")
    if gate:
        _gate(written.report["by_split"].get("test", {}), thresholds)


@app.callback()
def main(ctx: typer.Context, questions: QuestionsOpt = None, generator: GeneratorOpt = None, out: OutOpt = None,
         compare: CompareOpt = None, gate: GateOpt = False, thresholds: ThresholdsOpt = None, split: SplitOpt = None) -> None:
    """Auswertung: ohne Unterbefehl läuft das Fragenset (wie `lotse eval run`)."""
    if ctx.invoked_subcommand is None:
        run_eval(questions, generator, out, compare, gate, thresholds, split)


@app.command("run")
def run_command(questions: QuestionsOpt = None, generator: GeneratorOpt = None, out: OutOpt = None, compare: CompareOpt = None,
                gate: GateOpt = False, thresholds: ThresholdsOpt = None, split: SplitOpt = None) -> None:
    """Schickt das Fragenset durch Lotse und schreibt report.md, report.json und chart.png."""
    run_eval(questions, generator, out, compare, gate, thresholds, split)


def _sets(names: str | None, data: Path | None) -> list:  # type: ignore[type-arg]
    from eval.datasets import load_sets

    return load_sets([n.strip() for n in names.split(",") if n.strip()] if names else None, data)


@app.command("external")
def external_command(
    sets: SetsOpt = None, data: DataOpt = None, out: OutOpt = None, gate: GateOpt = False, thresholds: ThresholdsOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Nur die ersten N Fragen je Satz (schneller Lauf)")] = None,
    own: Annotated[bool, typer.Option("--own/--no-own", help="Das eigene Fragenset (dev, test) mit in die Tabelle")] = True,
) -> None:
    """Eigenes Fragenset und externe deutsche Sätze nebeneinander: dicht, Stichwort, fusioniert, Ende-zu-Ende."""
    from eval.external import run_external
    from eval.external_report import external_row, own_rows, write
    from eval.questions import load_questions
    from eval.runner import run_questions

    try:
        external_sets = _sets(sets, data)
        engine = corpus_engine()
        with progress_lines() as progress:
            rows = []
            if own:
                questions = load_questions()
                results = run_questions(engine, questions, lambda d: progress("eigene Fragen", d, len(questions)))
                rows += own_rows(questions, results)
            rows += [external_row(r) for r in run_external(engine.settings, external_sets, limit, progress=progress)]
    except LotseError as exc:
        raise fail(exc.message) from exc
    info = {"preset": engine.settings.preset, "fusion": engine.settings.retrieval.fusion, "embedder": engine.index.embedder.name}
    path = write(rows, info, out or Path(__file__).resolve().parent / "runs" / f"external-{datetime.now():%Y%m%d-%H%M%S}")
    sys.stdout.write(path.read_text(encoding="utf-8"))
    if gate:
        _gate({}, thresholds, {r.name: r.__dict__ for r in rows})


STAGES = ("reader", "composer", "citations")


def _stage(name: str, engine: AnswerEngine) -> tuple[str, dict[str, Any], str]:
    """One tuning stage run alone: (preset key, chosen values, report section)."""
    from eval.citations import GRID, calibrate, citations_markdown, load_items
    from eval.compose_tune import composer_markdown, tune_composer
    from eval.questions import load_questions
    from eval.reader_tune import reader_markdown, tune_reader

    if name == "reader":
        weights, weights_report = tune_reader(engine, load_questions())
        return "generator", {"unit_weights": weights}, reader_markdown(weights, weights_report)
    if name == "composer":
        chosen, report = tune_composer(engine, load_questions())
        return "generator", chosen, composer_markdown(chosen, report)
    if name == "citations":
        settings, report = calibrate(engine, load_items())
        values = settings.model_dump(include=set(GRID))
        return "citations", values, citations_markdown(report, values)
    raise ValueError(name)


@app.command("tune")
def tune_command(
    sets: SetsOpt = None, data: DataOpt = None,
    preset: Annotated[str, typer.Option("--preset", help="Name (assistant/presets/<Name>.yaml) oder Pfad des Presets")] = "default",
    only: Annotated[str | None, typer.Option(
        "--only", help="Nur eine Stufe neu abstimmen, der Rest des Presets bleibt: reader (Gewichte für die erste "
        "Einheit, own-dev), composer (Antwortlänge, own-dev) oder citations (Zitatprüfung, eval/citations.yaml dev)")] = None,
) -> None:
    """Stimmt Fusion, Ablehnung, Folgefragen, Zitatprüfung und Antwortlänge auf den Abstimmungsdaten ab und schreibt das Preset."""
    from eval.preset import run_tuning, save, save_stage
    from eval.questions import load_questions

    if only is not None:
        if only not in STAGES:
            raise fail(f"Unbekannte Stufe „{only}“: {' oder '.join(STAGES)}.")
        path = save_stage(preset, *_stage(only, corpus_engine()))
        console.print(f"Preset geschrieben: {path} ({only})")
        return
    try:
        external_sets = _sets(sets, data)
        engine = corpus_engine()
        with progress_lines() as progress:
            result = run_tuning(engine.settings, engine, load_questions(), external_sets, progress)
    except LotseError as exc:
        raise fail(exc.message) from exc
    path = save(result, preset, external_sets)
    console.print(f"Preset geschrieben: {path} (Fusion: {result.chosen}); Tabellen: {path.with_name(path.stem + '-tuning.md')}")


@app.command("relevance")
def relevance_command() -> None:
    """Findet je Frage alle Abschnitte, die alle Schlüsselfakten enthalten, und speichert sie (eval/relevance.yaml)."""
    from assistant.settings import load_settings
    from eval.questions import load_questions, write_relevance
    from ingest.loaders import load_file
    from ingest.pipeline import scan

    settings = load_settings()
    try:
        docs = {d.doc_id: d for d in (load_file(p, settings.ingest) for p in scan([settings.paths.corpus_dir]))}
    except LotseError as exc:
        raise fail(exc.message) from exc
    path = write_relevance(load_questions(), docs)
    console.print(f"Geschrieben: {path}")


@report_app.command("gaps")
def gaps_command(
    days: Annotated[int, typer.Option("--days", min=1, help="Zeitraum in Tagen")] = 90,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Markdown-Datei (Standard: Ausgabe auf dem Terminal)")] = None,
    export_candidates: Annotated[
        Path | None, typer.Option("--export-candidates", help="👎-Fragen als Kandidaten im Fragenset-Format (YAML) schreiben")
    ] = None,
    threshold: Annotated[float, typer.Option("--threshold", min=0.0, max=1.0, help="Ähnlichkeit, ab der Fragen ein Thema bilden")] = 0.87,
) -> None:
    """Abgelehnte und mit 👎 bewertete Fragen (Web und Slack), nach Thema gruppiert."""
    from assistant.feedback import FeedbackStore
    from assistant.settings import load_settings
    from eval.gaps import candidates_yaml, gaps_report
    from ingest.embedders import build_embedder

    settings = load_settings()
    store = FeedbackStore(settings.db, settings.paths.data_dir)
    report = gaps_report(store, build_embedder(settings.embedder, settings.paths.models()), days, threshold)
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
