"""FeedbackStore against real databases: SQLite and PostgreSQL (`db_url`), schema migrations, races."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
)
from sqlalchemy.engine import Engine

from assistant.feedback import FeedbackStore, metadata
from assistant.migrations import (
    BASELINE,
    VERSION_TABLE,
    alembic_config,
    head_revision,
    stored_revision,
    upgrade_database,
)
from assistant.settings import DatabaseSettings
from assistant.types import Answer, Citation

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
KEY = SecretStr("test-key")


class Clock:
    """A settable clock for FeedbackStore(clock=…)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_answer(question: str = "Wann brauche ich eine DSFA?", text: str = "Bei hohem Risiko [1].") -> Answer:
    """An answer with one citation, as the answer engine builds it."""
    citation = Citation(n=1, chunk_id="leitfaden#3.2", doc_id="leitfaden", title="Leitfaden Datenschutz",
                        section="3.2 DSFA durchführen", anchor="dsfa-durchfuehren", page=4,
                        url="/docs/leitfaden#dsfa", quote="Eine Datenschutz-Folgenabschätzung nach Art. 35 DSGVO")
    return Answer(answer_id=uuid.uuid4().hex, question=question, text=text, citations=[citation], refused=False,
                  language="de", query="dsfa hohes risiko", generator="extractive")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def open_store(url: str, data_dir: Path, clock: Clock | None = None, retention_days: int = 180) -> FeedbackStore:
    """A store on `url`; the clock defaults to the real one."""
    settings = DatabaseSettings(url=url, retention_days=retention_days, pseudonym_key=KEY)
    return FeedbackStore(settings, data_dir, clock=clock) if clock else FeedbackStore(settings, data_dir)


@pytest.fixture
def store(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[FeedbackStore]:
    store = open_store(db_url, tmp_path, clock)
    yield store
    store.engine.dispose()


# --- the question log -------------------------------------------------------------------------


def test_logged_answer_reads_back(store: FeedbackStore) -> None:
    answer = make_answer()
    assert store.log_answer(answer, "web", "conv-1", "anna@example.org")
    assert store.knows_answer(answer.answer_id) and not store.knows_answer("unbekannt")
    stored = store.stored_answer(answer.answer_id)
    assert stored == {
        "answer_id": answer.answer_id, "question": answer.question, "text": answer.text, "language": "de",
        "refused": False, "citations": [c.as_dict() for c in answer.citations], "generator": "extractive",
    }
    assert store.stored_answer("unbekannt") is None
    [logged] = store.logged()
    assert (logged.answer_id, logged.question, logged.answer, logged.channel) == (
        answer.answer_id, answer.question, answer.text, "web")
    assert logged.rating is None and logged.generator == "extractive" and not logged.refused


def test_user_is_stored_pseudonymised(store: FeedbackStore) -> None:
    answer = make_answer()
    store.log_answer(answer, "slack", None, "U123")
    with store.engine.connect() as conn:
        user = conn.execute(metadata.tables["questions"].select()).one().user
    assert user == store.pseudonym("U123") and "U123" not in user


def test_feedback_is_joined_to_its_answer(store: FeedbackStore, clock: Clock) -> None:
    liked, disliked = make_answer("Was ist ein Digitaler Zwilling?"), make_answer()
    store.log_answer(liked, "web", None, None)
    clock.advance(seconds=1)
    store.log_answer(disliked, "slack", None, None)
    assert store.add_feedback(liked.answer_id, 5, None, "web", "anna")
    assert store.add_feedback(disliked.answer_id, -3, "  Quelle fehlt  ", "slack", "ben")
    by_id = {item.answer_id: item for item in store.logged()}
    assert (by_id[liked.answer_id].rating, by_id[liked.answer_id].comment) == (1, None)
    assert (by_id[disliked.answer_id].rating, by_id[disliked.answer_id].comment) == (-1, "Quelle fehlt")
    assert [item.answer_id for item in store.logged()] == [disliked.answer_id, liked.answer_id]  # newest first


# --- conversations and retention --------------------------------------------------------------


def test_history_is_chronological_and_limited(store: FeedbackStore, clock: Clock) -> None:
    for n in range(4):
        store.log_answer(make_answer(f"Frage {n}", f"Antwort {n}"), "web", "conv-1", None)
        store.log_answer(make_answer(f"Andere {n}"), "web", "conv-2", None)
        clock.advance(minutes=1)
    history = store.history("conv-1", turns=3, max_age_minutes=30)
    assert [(t.question, t.answer, t.condensed) for t in history] == [
        (f"Frage {n}", f"Antwort {n}", "dsfa hohes risiko") for n in (1, 2, 3)]
    assert store.history("conv-1", turns=0, max_age_minutes=30) == []
    assert store.history("unbekannt", turns=3, max_age_minutes=30) == []


def test_old_conversation_is_not_continued(store: FeedbackStore, clock: Clock) -> None:
    store.log_answer(make_answer("Erste Frage"), "web", "conv-1", None)
    clock.advance(minutes=20)
    store.log_answer(make_answer("Zweite Frage"), "web", "conv-1", None)
    clock.advance(minutes=15)
    assert [t.question for t in store.history("conv-1", turns=5, max_age_minutes=30)] == ["Zweite Frage"]
    clock.advance(minutes=16)
    assert store.history("conv-1", turns=5, max_age_minutes=30) == []


def test_purge_deletes_only_what_is_older_than_retention(
    db_url: str, tmp_path: Path, clock: Clock,
) -> None:
    store = open_store(db_url, tmp_path, clock, retention_days=10)
    old, new = make_answer("Alte Frage"), make_answer("Neue Frage")
    store.log_answer(old, "web", "conv-1", None)
    store.add_feedback(old.answer_id, 1, None, "web", None)
    assert store.claim_event("C1:1700000000.1")
    clock.advance(days=10, minutes=1)
    store.log_answer(new, "web", "conv-1", None)
    store.add_feedback(new.answer_id, -1, "falsch", "web", None)
    assert store.purge() == 2  # the old question and its feedback
    assert not store.knows_answer(old.answer_id) and store.knows_answer(new.answer_id)
    assert [(item.answer_id, item.rating) for item in store.logged()] == [(new.answer_id, -1)]
    assert store.claim_event("C1:1700000000.1"), "event keys are kept for a day only"
    assert store.purge() == 0
    store.engine.dispose()


# --- Slack retries ----------------------------------------------------------------------------


def test_claim_event_is_true_once_per_key(store: FeedbackStore) -> None:
    assert store.claim_event("C1:1.0")
    assert not store.claim_event("C1:1.0")
    assert store.claim_event("C1:2.0")
    long_key = "x" * 200
    assert store.claim_event(long_key) and not store.claim_event(long_key[:128] + "anders")


def test_claim_event_race_between_threads(store: FeedbackStore) -> None:
    barrier, results = threading.Barrier(8), []

    def claim() -> None:
        barrier.wait()
        results.append(store.claim_event("C1:race"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]


def claim_in_process(url: str, data_dir: str, key: str, opened: Any, claim: Any, results: Any) -> None:
    """One worker process: opens the store (migrating) with the others, then races for `key`."""
    try:
        opened.wait(timeout=60)
        store = FeedbackStore(DatabaseSettings(url=url, retention_days=180, pseudonym_key=KEY), Path(data_dir))
        claim.wait(timeout=60)
        results.put(store.claim_event(key))
    except Exception as error:  # reported to the test, which would otherwise wait for the timeouts
        claim.abort()
        results.put(f"{type(error).__name__}: {error}"[:300])
        raise


def test_processes_start_together_and_race_for_one_event(db_url: str, tmp_path: Path) -> None:
    """Three worker processes open the same fresh database at once (migration race), then claim one key."""
    ctx = multiprocessing.get_context("fork")  # starts in milliseconds: the modules are already imported
    opened, claim, results = ctx.Barrier(3), ctx.Barrier(3), ctx.Queue()
    args = (db_url, str(tmp_path), "C1:processes", opened, claim, results)
    workers = [ctx.Process(target=claim_in_process, args=args) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        claimed = sorted((results.get(timeout=60) for _ in workers), key=str)
        assert claimed == [False, False, True]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    assert [worker.exitcode for worker in workers] == [0, 0, 0]


# --- migrations -------------------------------------------------------------------------------

# The tables exactly as assistant/feedback.py defined them before it had migrations (create_all).
old_metadata = MetaData()
old_questions = Table(
    "questions", old_metadata,
    Column("answer_id", String(64), primary_key=True),
    Column("conversation_id", String(64), index=True),
    Column("created_at", DateTime(timezone=True), index=True, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("user", String(64)),  # pseudonymised
    Column("question", Text, nullable=False),
    Column("query", Text),
    Column("language", String(4)),
    Column("refused", Boolean, nullable=False),
    Column("answer", Text),
    Column("citations", Text),  # JSON list of Citation dicts
    Column("latency_ms", Float),
)
old_slack_events = Table(
    "slack_events", old_metadata,
    Column("key", String(128), primary_key=True),  # channel:ts of a message, or a command's trigger id
    Column("created_at", DateTime(timezone=True), index=True, nullable=False),
)
old_feedback = Table(
    "feedback", old_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(64), index=True, nullable=False),
    Column("created_at", DateTime(timezone=True), index=True, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("user", String(64)),
    Column("rating", Integer, nullable=False),  # +1 / -1
    Column("comment", Text),
)


def schema_differences(engine: Engine, target: MetaData) -> list[object]:
    """What Alembic's autogenerate would change to make the database match `target` (nothing: equal)."""
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), target)
    return [d for d in diffs
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == VERSION_TABLE)]


def fill_old_database(engine: Engine) -> None:
    """The old code's schema with one question, its feedback and a Slack event."""
    old_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(old_questions).values(
            answer_id="alt-1", conversation_id="conv-alt", created_at=datetime.now(UTC), channel="web",
            user=None, question="Alte Frage?", query="alte frage", language="de", refused=False,
            answer="Alte Antwort.", citations="[]", latency_ms=12.5))
        conn.execute(insert(old_feedback).values(answer_id="alt-1", created_at=datetime.now(UTC), channel="web",
                                                 user=None, rating=-1, comment="veraltet"))
        conn.execute(insert(old_slack_events).values(key="C1:alt", created_at=datetime.now(UTC)))


def test_database_of_the_old_code_is_upgraded_keeping_rows(db_url: str, tmp_path: Path) -> None:
    engine = create_engine(db_url)
    fill_old_database(engine)
    store = open_store(db_url, tmp_path)
    with engine.connect() as conn:
        assert stored_revision(conn) == head_revision() == "0002"
    assert "generator" in {c["name"] for c in inspect(engine).get_columns("questions")}
    assert store.stored_answer("alt-1") == {
        "answer_id": "alt-1", "question": "Alte Frage?", "text": "Alte Antwort.", "language": "de",
        "refused": False, "citations": [], "generator": None}
    assert [(item.answer_id, item.rating, item.comment) for item in store.logged()] == [("alt-1", -1, "veraltet")]
    assert store.history("conv-alt", 3, 30)[0].question == "Alte Frage?"
    assert not store.claim_event("C1:alt")
    assert store.log_answer(make_answer(), "web", "conv-alt", None) and len(store.logged()) == 2
    assert schema_differences(engine, metadata) == []
    open_store(db_url, tmp_path).engine.dispose()  # opening again changes nothing
    with engine.connect() as conn:
        assert stored_revision(conn) == "0002"
    store.engine.dispose()
    engine.dispose()


def test_migrations_match_the_models_and_go_both_ways(db_url: str) -> None:
    """Revision 0001 is exactly the old schema; head is exactly feedback.py's tables; downgrades work."""
    engine = create_engine(db_url)
    upgrade_database(engine, BASELINE)
    assert schema_differences(engine, old_metadata) == []
    upgrade_database(engine)
    assert schema_differences(engine, metadata) == []
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BASELINE)
    assert schema_differences(engine, old_metadata) == []
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
