"""Which database the storage and in-process tests run on.

SQLite by default. SUPPORTBOT_TEST_DB=postgresql runs them on PostgreSQL (server from
SUPPORTBOT_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres): one fresh
database supportbot_test_<random> per test session, dropped at its end, and one fresh schema in it
for every database a test asks for. Without a reachable server those tests are skipped with the
reason on a developer's machine and fail in CI (CI=true).
"""
from __future__ import annotations

import itertools
import os
import secrets
from pathlib import Path
from urllib.parse import quote

import pytest

from supportbot.storage.postgres import PostgresUrl, driver_available

ENV = "SUPPORTBOT_TEST_DB"
SERVER_ENV = "SUPPORTBOT_TEST_PG_URL"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def on_postgres() -> bool:
    """Tell whether this test session runs on PostgreSQL."""
    return os.environ.get(ENV, "sqlite").strip().lower() in ("postgresql", "postgres", "pg")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


class PgSession:
    """The session's own database on the test server, made on first use."""

    def __init__(self, server: PostgresUrl):
        self.server = server
        self.database: PostgresUrl | None = None
        self.problem: str | None = None
        self._schemas = itertools.count(1)

    def _admin(self):
        import psycopg

        return psycopg.connect(self.server.url, autocommit=True, connect_timeout=5)

    def _create(self) -> None:
        if not driver_available():
            self.problem = "psycopg is not installed (pip install -r requirements-postgres.txt)"
            return
        name = f"supportbot_test_{secrets.token_hex(4)}"
        try:
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except Exception as exc:  # noqa: BLE001 - any failure is the reason the tests cannot run
            self.problem = f"no PostgreSQL server at {self.server} ({str(exc).strip().splitlines()[0]})"
            return
        self.database = self.server.with_dbname(name)

    def fresh(self) -> PostgresUrl:
        """A URL whose tables live in a new empty schema of the session database."""
        if self.database is None and self.problem is None:
            self._create()
        if self.database is None:
            if in_ci():
                pytest.fail(f"{ENV}=postgresql in CI, but {self.problem}")
            pytest.skip(f"{ENV}=postgresql: {self.problem}; runs in CI, where .ci/run starts the server")
        schema = f"t{os.getpid()}_{next(self._schemas)}"
        import psycopg

        with psycopg.connect(self.database.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return PostgresUrl(f"{self.database.url}?options={quote(f'-csearch_path={schema}', safe='')}")

    def drop(self) -> None:
        """Drop the session database (end of the session)."""
        if self.database is None:
            return
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database.dbname}" WITH (FORCE)')
        self.database = None


_session: PgSession | None = None


def pg_session() -> PgSession:
    global _session
    if _session is None:
        _session = PgSession(PostgresUrl.parse(os.environ.get(SERVER_ENV, DEFAULT_SERVER)))
    return _session


def fresh_database(tmp_path: Path) -> Path | PostgresUrl:
    """A new empty database for one test: a file in tmp_path, or a fresh PostgreSQL schema."""
    if on_postgres():
        return pg_session().fresh()
    return Path(tmp_path) / "support.db"


def fresh_postgres() -> PostgresUrl:
    """A new empty PostgreSQL schema whatever the session's database (skipped or failed like above)."""
    return pg_session().fresh()


def end_session() -> None:
    if _session is not None:
        _session.drop()
