"""Versioned schema of the question log (Alembic), brought to head by `FeedbackStore` on start.

Alembic is configured here in code, so no alembic.ini is needed; the scripts are in versions/.
A new revision, from the repository root:

    .venv/bin/python -c "from alembic import command; from assistant.migrations import alembic_config; \
command.revision(alembic_config(), 'what changes')"
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("lotse.feedback")

BASELINE = "0001"  # the schema Lotse created with metadata.create_all before it had migrations
LEGACY_TABLES = ("questions", "slack_events", "feedback")
VERSION_TABLE = "alembic_version"
# pg_advisory_xact_lock key: serialises upgrades by several processes (any fixed bigint will do)
_LOCK_KEY = 0x4C6F_7473_6530_0001


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for this package's scripts; migrations run on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision in versions/."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "assistant/migrations/versions has no revisions"
    return head


def stored_revision(conn: Connection) -> str | None:
    """The revision recorded in the database (None: not under Alembic's control)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision`, keeping all rows.

    A database made by Lotse before it had migrations (tables, no version) is first stamped as
    the baseline. Several processes may call this at once on the same database.
    """
    with engine.connect() as conn:
        if revision == "head" and stored_revision(conn) == head_revision():
            return
    with _locked(engine) as conn:
        config = alembic_config(conn)
        if _is_legacy(conn):
            log.info("question log without schema version: stamping it as revision %s", BASELINE)
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)


def _is_legacy(conn: Connection) -> bool:
    if stored_revision(conn) is not None:
        return False
    existing = set(inspect(conn).get_table_names())
    return any(table in existing for table in LEGACY_TABLES)


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction that other processes' upgrades wait for."""
    if engine.dialect.name == "sqlite":
        with _sqlite_immediate(engine) as conn:
            yield conn
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        yield conn


@contextmanager
def _sqlite_immediate(engine: Engine) -> Iterator[Connection]:
    # pysqlite would send DDL outside of any transaction; BEGIN IMMEDIATE takes the write lock now
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")
