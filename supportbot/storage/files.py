"""The owner's tools on the database file: the one-instance lock, integrity check, backup, export."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import postgres
from .panel import select_text_history
from .postgres import PostgresUrl


class InstanceLock:
    """Only one bot per database: an exclusive SQLite lock on a side file.

    The operating system drops the lock when the process dies, on Windows and
    POSIX alike, so a killed bot never leaves a stale lock behind.
    """

    def __init__(self, path: Path):
        self.path = path
        self.conn: sqlite3.Connection | None = None

    def acquire(self) -> bool:
        """Take the lock; False if another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            conn.close()
            return False
        self.conn = conn
        return True

    def release(self) -> None:
        """Give the lock up."""
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()
            self.conn = None


# --- operations: integrity check, backup, export ---
# The owner's tools (supportbot/ops.py) read the database file while the bot may be
# running; WAL lets them read without blocking it. They never create a database.


@dataclass(frozen=True)
class ExportRow:
    created_at: float
    customer_id: int
    first_name: str
    last_name: str | None
    username: str | None
    direction: str
    author: str
    content_type: str
    body: str | None


def _open_existing(path: Path | PostgresUrl):
    """Open an existing database file (or a PostgreSQL database); FileNotFoundError instead of creating an empty one."""
    if isinstance(path, PostgresUrl):
        return postgres.connect(path)
    if not path.is_file():
        raise FileNotFoundError(f"no database file at {path}")
    # mode=rw: a mistyped DATABASE_URL must not leave an empty database behind.
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def text_history(where: Path | PostgresUrl, since: float | None = None) -> list[tuple[int, str, str]]:
    """(dialog, direction, text) of dialogs' text messages since a time, read from an existing database."""
    conn = _open_existing(where)
    try:
        return select_text_history(conn, since if since is not None else 0.0)
    finally:
        conn.close()


def integrity_check(path: Path) -> str:
    """Run PRAGMA integrity_check on an existing database; return "ok" or the problems found."""
    conn = _open_existing(path)
    try:
        rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
    finally:
        conn.close()
    return "\n".join(str(row[0]) for row in rows)


def backup_to(src_path: Path, dest_path: Path) -> None:
    """Copy a consistent snapshot of the database at src_path into the new file dest_path."""
    src = _open_existing(src_path)
    try:
        dest = sqlite3.connect(str(dest_path), isolation_level=None)
        try:
            # All pages in one step, under one read snapshot: the bot's writes cannot restart it.
            src.backup(dest)
            # A backup is one self-contained file, with no -wal/-shm files beside it.
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
    finally:
        src.close()


def find_customer_id(path: Path | PostgresUrl, ref: int) -> int | None:
    """Return the customer's short number, given it or their Telegram id; None if unknown."""
    conn = _open_existing(path)
    try:
        row = conn.execute(
            "SELECT COALESCE((SELECT id FROM customers WHERE id = ?), (SELECT id FROM customers WHERE tg_user_id = ?))",
            (ref, ref),
        ).fetchone()
    finally:
        conn.close()
    return row[0]


def export_rows(path: Path | PostgresUrl, customer_id: int | None = None, since: float | None = None) -> Iterator[ExportRow]:
    """Yield stored messages with their customer, in order, from one snapshot; optionally one customer's
    and only those at or after `since` (Unix seconds)."""
    where, params = [], []
    if customer_id is not None:
        where.append("m.customer_id = ?")
        params.append(customer_id)
    if since is not None:
        where.append("m.created_at >= ?")
        params.append(since)
    sql = (
        "SELECT m.created_at, m.customer_id, c.first_name, c.last_name, c.username, m.direction, m.author,"
        " m.content_type, m.body FROM messages m JOIN customers c ON c.id = m.customer_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY m.id"
    )
    conn = _open_existing(path)
    try:
        # One snapshot while the bot keeps writing.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ" if isinstance(path, PostgresUrl) else "BEGIN")
        for row in conn.execute(sql, params):
            yield ExportRow(**dict(row))
    finally:
        conn.close()


def postgres_status(where: PostgresUrl) -> tuple[str, int, str | None]:
    """The server's version (e.g. "15.4"), the database's schema version, and where the active copy of the bot
    runs (None: no copy is active); sqlite3.OperationalError if the server cannot be reached."""
    from .schema import schema_version

    conn = postgres.connect(where)
    try:
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        return version, schema_version(conn), postgres.active_copy(conn)
    finally:
        conn.close()
