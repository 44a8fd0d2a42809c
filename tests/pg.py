"""A real, throw-away PostgreSQL server for tests (Debian's binaries, run as an unprivileged user)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests_support import free_port

PROGRAMS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "postgres"  # the database role initdb creates; unrelated to the system user


def find_bin_dir() -> Path | None:
    """The directory with initdb, pg_ctl and postgres: from PATH, else the newest /usr/lib/postgresql/*/bin."""
    candidates = [Path(found).resolve().parent for found in [shutil.which("initdb")] if found]
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0, reverse=True)
    for directory in candidates:
        if all(os.access(directory / program, os.X_OK) for program in PROGRAMS):
            return directory
    return None


def server_user() -> pwd.struct_passwd | None:
    """Whom initdb and postgres run as: they refuse root, so as root the `postgres` system user (or `nobody`)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, but there is neither a `postgres` nor a `nobody` user to run PostgreSQL as")


def as_user(user: pwd.struct_passwd | None) -> list[str]:
    """Command prefix that drops root to `user` (setpriv, from util-linux); empty when not root."""
    if user is None:
        return []
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]


class PostgresServer:
    """A real `postgres` on 127.0.0.1 (free port, trust auth) in a temp dir, with a database per test if wanted."""

    def __init__(self, bin_dir: Path, database: str = "lotse") -> None:
        self.bin_dir, self.database = bin_dir, database
        self.user = server_user()
        self.base = Path(tempfile.mkdtemp(prefix="lotse-pg-"))  # /tmp, not pytest's root-only tmp_path
        if self.user is not None:
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        self.data, self.log, self.port = self.base / "data", self.base / "postgres.log", free_port()
        self.proc: Any = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server's main database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3) of one database on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60) -> PostgresServer:
        """initdb, start postgres and wait until it accepts connections; then create the main database."""
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        settings = {"listen_addresses": "127.0.0.1", "port": str(self.port),
                    "unix_socket_directories": str(self.base), "fsync": "off", "synchronous_commit": "off",
                    "full_page_writes": "off", "max_connections": "100"}
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        self.proc = subprocess.Popen(
            [*as_user(self.user), str(self.bin_dir / "postgres"), "-D", str(self.data), *options],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.base,
        )
        self._wait_ready(timeout)
        self.create_database(self.database)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("postgres did not start: " + self.log.read_text(errors="replace"))
            time.sleep(0.05)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def _run(self, program: str, *args: str) -> None:
        with self.log.open("ab") as log:
            done = subprocess.run([*as_user(self.user), str(self.bin_dir / program), *args], stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.base, timeout=120,
                                  check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): " + self.log.read_text(errors="replace"))

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE) in the `postgres` database."""
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (default: a fresh test_<uuid>); returns its name."""
        name = name or f"test_{uuid.uuid4().hex}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Fast shutdown (pg_ctl stop -m fast); kills the server if that does not work."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30")
            self.proc.wait(timeout=30)
        except (RuntimeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        """Stop the server and delete its temp dir."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
