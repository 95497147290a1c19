"""All SQL of the bot: schema, migrations, and every query.

No other module builds SQL. Every value is a `?` placeholder. Each thread opens
its own Storage (one connection; never shared across threads). A public
Storage method is one transaction; `Storage.transaction()` yields a Tx whose
methods run inside one caller-held transaction (the processor's group commit).
Times are integer or real Unix seconds, UTC.

The database is an SQLite file (a Path) or PostgreSQL (a `PostgresUrl`); the same queries run on
both, `?` placeholders translated for PostgreSQL in `postgres.translate` alone.

Modules: `schema` (migrations, `atomic`), `postgres` (the PostgreSQL connection), `rows` (records),
`queues` (inbox, outbox, dead letters), `records` (customers, dialogs, messages), `operators` (seats,
logins, held messages), `files` (lock, backup, export).
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .files import ExportRow, InstanceLock, backup_to, export_rows, find_customer_id, integrity_check, postgres_status
from .queues import INBOX_MAX_ATTEMPTS, QueueStorage, QueueTx
from .operators import OperatorRecords, SeatRecords
from .panel import PanelRecords
from .records import CustomerRecords, DialogRecords, MessageRecords
from .rows import Customer, Dialog, HeldMessage, InboxRow, OutboxRow, SeatRow, StoredMessage
from .postgres import PostgresUrl
from .schema import MIGRATIONS, NewerSchema, atomic, connect, migrate, open_database, schema_version

__all__ = [
    "Storage", "Tx", "Customer", "Dialog", "HeldMessage", "InboxRow", "OutboxRow", "SeatRow", "StoredMessage", "ExportRow",
    "InstanceLock", "backup_to", "postgres_status", "export_rows", "find_customer_id", "integrity_check", "INBOX_MAX_ATTEMPTS",
    "MIGRATIONS", "NewerSchema", "atomic", "connect", "migrate", "open_database", "schema_version", "PostgresUrl",
]


class Storage(QueueStorage):
    """One thread's connection to the bot's database."""

    def __init__(self, where: Path | PostgresUrl, *, synchronous: str = "FULL"):
        self.path = where
        self.conn = open_database(where, synchronous=synchronous)
        try:
            migrate(self.conn)
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator["Tx"]:
        """Run a block in one write transaction (a savepoint when nested); roll back on any exception."""
        with atomic(self.conn):
            yield Tx(self.conn)

    @contextmanager
    def reading(self) -> Iterator["Tx"]:
        """Run reads in one deferred transaction (a consistent view that never holds the write lock)."""
        self.conn.execute("BEGIN")
        try:
            yield Tx(self.conn)
        finally:
            self.conn.execute("ROLLBACK")

    def seats(self) -> list[SeatRow]:
        """Return every seat row (logged in or not)."""
        with self.transaction() as tx:
            return tx.seats()

    def dialog_topic(self, dialog_id: int, chat_id: int) -> tuple[int | None, str] | None:
        """(thread id, name) of a dialog's topic in a chat, for the sender; None if it has none there."""
        with self.transaction() as tx:
            return tx.topic_of(dialog_id, chat_id)

    def set_dialog_topic(self, dialog_id: int, chat_id: int, thread_id: int | None) -> None:
        """Record the thread id Telegram gave a dialog's topic in a chat (None: it has none any more)."""
        with self.transaction():
            self.conn.execute("UPDATE dialog_topics SET thread_id = ? WHERE dialog_id = ? AND chat_id = ?",
                              (thread_id, dialog_id, chat_id))


class Tx(QueueTx, CustomerRecords, DialogRecords, SeatRecords, MessageRecords, OperatorRecords, PanelRecords):
    """Queries that run inside a transaction held by the caller."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.enqueued = 0  # outbox rows queued in this transaction (the sender is woken only for news)

    def _one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only this block's writes if it raises."""
        with atomic(self.conn):
            yield
