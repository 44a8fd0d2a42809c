"""Fixtures for database tests: one PostgreSQL server per session, `db_url` for SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import PostgresServer, find_bin_dir

MISSING = ("PostgreSQL is not installed (no initdb/pg_ctl/postgres on PATH or in /usr/lib/postgresql/*/bin); "
           "install Debian's `postgresql` package (see the Makefile)")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session; skipped without PostgreSQL, but fails in CI."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    server = PostgresServer(bin_dir)
    try:
        yield server.start()
    finally:
        server.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLAlchemy URL of an empty database: a SQLite file, or a fresh database on the shared server."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'lotse.db').as_posix()}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = server.create_database()
    yield server.url_for(name)
    server.drop_database(name)
