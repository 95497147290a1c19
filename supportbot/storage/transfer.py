"""Copy a whole SQLite database into an empty PostgreSQL database (`python -m supportbot migrate-db`).

The SQLite file is only read: a snapshot of it is taken into a temporary file, brought to this
program's schema there, and copied table by table (COPY, in one PostgreSQL transaction) into the
target, whose schema the same migrations create. Row counts are compared before the commit, so a
target is either a complete copy or left empty.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from .files import backup_to
from .postgres import PgConnection, PostgresUrl
from .schema import atomic, connect, migrate, open_database


class TargetNotEmpty(Exception):
    """The PostgreSQL database already holds tables: the copy would mix two shops' data."""

    def __init__(self, tables: list[str]):
        super().__init__(", ".join(tables))
        self.tables = tables


class CountMismatch(Exception):
    """A table's row count differs after the copy (the copy was rolled back)."""


def target_tables(conn: PgConnection) -> list[str]:
    """The tables in the target's current schema."""
    rows = conn.execute("SELECT table_name FROM information_schema.tables"
                        " WHERE table_schema = current_schema() ORDER BY table_name").fetchall()
    return [r[0] for r in rows]


def copy_sqlite_to_postgres(source: Path, target: PostgresUrl) -> dict[str, int]:
    """Copy every table's rows from the SQLite file into the empty target; return the count per table."""
    with tempfile.TemporaryDirectory(prefix="supportbot-migrate-") as folder:
        snapshot = Path(folder) / "snapshot.db"
        backup_to(source, snapshot)  # raises FileNotFoundError for a missing file; never writes to it
        src = connect(snapshot, synchronous="OFF")
        try:
            migrate(src)  # an older file is brought to this program's schema, in the snapshot only
            return _copy(src, target)
        finally:
            src.close()


def _copy(src, target: PostgresUrl) -> dict[str, int]:
    dest = open_database(target)
    try:
        existing = target_tables(dest)
        if existing:
            raise TargetNotEmpty(existing)
        migrate(dest)
        # In the order the migrations created them: a table's foreign keys point at tables copied before it.
        tables = [r[0] for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE 'message_terms%' ORDER BY rowid")]  # PostgreSQL searches messages with its own index
        counts = {}
        with atomic(dest):
            for table in tables:
                columns = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
                names = ", ".join(columns)
                cursor = dest.raw.cursor()
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in src.execute(f"SELECT {names} FROM {table} ORDER BY rowid"):
                        copy.write_row(tuple(row))
                counts[table] = src.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                copied = dest.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                if copied != counts[table]:
                    raise CountMismatch(f"{table}: {counts[table]} в SQLite, {copied} в PostgreSQL")
                if "id" in columns:  # new rows continue after the copied ids
                    dest.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                 f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
        return counts
    finally:
        dest.close()
