"""The database's shape: versioned migrations, connection pragmas, and the one transaction helper.

Each migration is applied with its bookkeeping inside one transaction, so a failed step leaves
nothing half done. `atomic` is the only place that opens, commits or rolls back a transaction.
The statements are written for SQLite; `postgres.ddl` gives PostgreSQL's spelling of each, and the
version is PRAGMA user_version on SQLite, the one row of schema_version on PostgreSQL.
"""
from __future__ import annotations

import itertools
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import postgres
from .postgres import PgConnection, PostgresUrl

MIGRATIONS: list[tuple[str, list[str | tuple[str | None, str | None]]]] = [
    ("initial schema", [
        """CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            tg_user_id INTEGER NOT NULL UNIQUE,
            chat_id INTEGER NOT NULL,
            first_name TEXT NOT NULL DEFAULT '',
            last_name TEXT,
            username TEXT,
            banned INTEGER NOT NULL DEFAULT 0,
            unreachable INTEGER NOT NULL DEFAULT 0,
            last_auto_reply_at REAL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE seats (
            seat INTEGER PRIMARY KEY,
            tg_user_id INTEGER UNIQUE,
            chat_id INTEGER,
            first_name TEXT,
            username TEXT,
            logged_in_at REAL,
            last_assigned_at REAL NOT NULL DEFAULT 0,
            current_dialog_id INTEGER,
            last_seen_at REAL
        )""",
        """CREATE TABLE dialogs (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            state TEXT NOT NULL,
            seat INTEGER,
            queue_pos INTEGER,
            opened_at REAL NOT NULL,
            queued_at REAL,
            assigned_at REAL,
            closed_at REAL,
            close_reason TEXT
        )""",
        "CREATE UNIQUE INDEX dialogs_open_by_customer ON dialogs(customer_id) WHERE state <> 'closed'",
        "CREATE INDEX dialogs_queue ON dialogs(state, queue_pos)",
        "CREATE INDEX dialogs_by_seat ON dialogs(seat, state)",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            dialog_id INTEGER REFERENCES dialogs(id),
            direction TEXT NOT NULL,
            author TEXT NOT NULL,
            author_user_id INTEGER,
            content_type TEXT NOT NULL,
            body TEXT,
            file_id TEXT,
            tg_chat_id INTEGER,
            tg_message_id INTEGER,
            relayed INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX messages_by_customer ON messages(customer_id, id)",
        "CREATE INDEX messages_unrelayed ON messages(dialog_id, id) WHERE relayed = 0",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            message_id INTEGER REFERENCES messages(id),
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created_at REAL NOT NULL,
            sent_at REAL,
            result_message_id INTEGER
        )""",
        "CREATE INDEX outbox_pending ON outbox(id) WHERE status = 'pending'",
        """CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            update_id INTEGER UNIQUE,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new',
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            received_at REAL NOT NULL
        )""",
        "CREATE INDEX inbox_new ON inbox(id) WHERE status = 'new'",
        """CREATE TABLE dead_letters (
            id INTEGER PRIMARY KEY,
            inbox_id INTEGER NOT NULL,
            update_id INTEGER,
            payload TEXT NOT NULL,
            error TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE login_failures (
            tg_user_id INTEGER PRIMARY KEY,
            failures INTEGER NOT NULL,
            locked_until REAL
        )""",
    ]),
    ("operator experience: ratings, alerts, edits, albums, flood, idle seats", [
        "ALTER TABLE dialogs ADD COLUMN rating INTEGER",
        "ALTER TABLE dialogs ADD COLUMN first_response_at REAL",
        "ALTER TABLE dialogs ADD COLUMN operator_name TEXT",
        "ALTER TABLE dialogs ADD COLUMN wait_alerted INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE dialogs ADD COLUMN unanswered_alerted_message INTEGER",
        "ALTER TABLE dialogs ADD COLUMN told_position INTEGER",
        "CREATE INDEX dialogs_by_opened_at ON dialogs(opened_at)",
        "ALTER TABLE customers ADD COLUMN flood_warned_at REAL",
        "ALTER TABLE messages ADD COLUMN media_group_id TEXT",
        "ALTER TABLE messages ADD COLUMN edit_of INTEGER REFERENCES messages(id)",
        "ALTER TABLE messages ADD COLUMN suppressed INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX messages_by_telegram_id ON messages(tg_chat_id, tg_message_id)",
        "ALTER TABLE outbox ADD COLUMN customer_id INTEGER",
        "CREATE INDEX outbox_by_result ON outbox(chat_id, result_message_id)",
        "ALTER TABLE seats ADD COLUMN idle_asked_at REAL",
        "CREATE INDEX messages_by_dialog ON messages(dialog_id, id)",
    ]),
    ("seat PIN fingerprints, Telegram's message dates, pruning", [
        "ALTER TABLE seats ADD COLUMN pin_salt TEXT",
        "ALTER TABLE seats ADD COLUMN pin_hash TEXT",
        "ALTER TABLE messages ADD COLUMN tg_date REAL",
        "CREATE INDEX inbox_by_received ON inbox(received_at) WHERE status = 'done'",
        "CREATE INDEX outbox_by_sent ON outbox(sent_at) WHERE status = 'sent'",
    ]),
    ("every message id an album copy produced", [
        """CREATE TABLE outbox_album_ids (
            outbox_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL
        )""",
        "CREATE INDEX outbox_album_ids_by_message ON outbox_album_ids(chat_id, message_id)",
    ]),
    ("the acknowledged current dialog, held operator messages, flood holds, login attempts, FAQ outcomes", [
        "ALTER TABLE seats ADD COLUMN acked_dialog_id INTEGER",
        """CREATE TABLE held_messages (
            id INTEGER PRIMARY KEY,
            seat INTEGER NOT NULL,
            tg_user_id INTEGER NOT NULL,
            author TEXT NOT NULL,
            content_type TEXT NOT NULL,
            body TEXT,
            file_id TEXT,
            tg_chat_id INTEGER NOT NULL,
            tg_message_id INTEGER NOT NULL,
            media_group_id TEXT,
            status TEXT NOT NULL DEFAULT 'held',
            created_at REAL NOT NULL
        )""",
        "ALTER TABLE messages ADD COLUMN flood_held INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX messages_flood_held ON messages(customer_id) WHERE flood_held = 1",
        """CREATE TABLE login_attempts (
            at REAL NOT NULL,
            tg_user_id INTEGER NOT NULL
        )""",
        "CREATE INDEX login_attempts_by_time ON login_attempts(at)",
        "CREATE TABLE operator_accounts (tg_user_id INTEGER PRIMARY KEY)",
        "INSERT INTO operator_accounts SELECT tg_user_id FROM seats WHERE tg_user_id IS NOT NULL ON CONFLICT DO NOTHING",
        """CREATE TABLE faq_events (
            dialog_id INTEGER,
            entry_number INTEGER NOT NULL,
            kind TEXT NOT NULL,
            at REAL NOT NULL
        )""",
        "CREATE INDEX faq_events_by_time ON faq_events(at)",
    ]),
    ("topics in operators' chats", [
        """CREATE TABLE dialog_topics (
            dialog_id INTEGER NOT NULL REFERENCES dialogs(id),
            chat_id INTEGER NOT NULL,
            thread_id INTEGER,
            name TEXT NOT NULL,
            PRIMARY KEY (dialog_id, chat_id)
        )""",
        "CREATE INDEX dialog_topics_by_thread ON dialog_topics(chat_id, thread_id)",
        "CREATE TABLE bot_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ]),
    ("the panel's search: stemmed words of every message (filled at search time)", [
        # (SQLite, PostgreSQL): FTS5 there; here a plain table searched with to_tsvector over the stemmed words.
        ("CREATE VIRTUAL TABLE message_terms USING fts5(terms, content='')",
         "CREATE TABLE message_terms (rowid BIGINT PRIMARY KEY, terms TEXT NOT NULL)"),
    ]),
    ("the panel's search on PostgreSQL: the server's own Russian full-text index over messages", [
        # (SQLite, PostgreSQL): nothing changes on SQLite; PostgreSQL stems with its 'russian' configuration
        # (the same Snowball stemmer) and needs no table of its own.
        (None, "DROP TABLE message_terms"),
        (None, "CREATE INDEX messages_russian_words ON messages USING gin (to_tsvector('russian', COALESCE(body, '')))"),
    ]),
    ("outbox rows claimed by the sender that sends them (set on PostgreSQL only: see QueueStorage.claim_outbox)", [
        "ALTER TABLE outbox ADD COLUMN claimed_by INTEGER",
    ]),
]


Connection = sqlite3.Connection | PgConnection


def open_database(where: Path | PostgresUrl, *, synchronous: str = "FULL") -> Connection:
    """Open the database a DATABASE_URL names: an SQLite file (created if missing) or a PostgreSQL database."""
    if isinstance(where, PostgresUrl):
        return postgres.connect(where)
    return connect(where, synchronous=synchronous)


def dialect(conn: Connection) -> str:
    """"sqlite" or "postgresql"."""
    return getattr(conn, "dialect", "sqlite")


def connect(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open a connection with the bot's pragmas; the caller owns it on one thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")  # outside any transaction
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


_SAVEPOINT_NUMBERS = itertools.count(1)


@contextmanager
def atomic(conn: Connection) -> Iterator[None]:
    """Run a block in one write transaction, or in a savepoint when one is already open.

    Any exception rolls the block back. A COMMIT that itself fails (disk full, I/O error) is rolled
    back too, so the connection never stays inside a dead transaction and the next BEGIN works.
    """
    if conn.in_transaction:
        name = f"sp{next(_SAVEPOINT_NUMBERS)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    if isinstance(conn, PgConnection):
        conn.begin_write()
    else:
        conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class NewerSchema(RuntimeError):
    """The database was written by a newer version of the bot."""

    def __init__(self, version: int):
        super().__init__(f"database schema {version} is newer than this program ({len(MIGRATIONS)})")
        self.version = version


def schema_version(conn: Connection) -> int:
    """The number of migrations applied (0 for an empty database)."""
    if isinstance(conn, PgConnection):
        # A query of the catalog, not to_regclass(): that may answer from a catalog snapshot older than a
        # migration another copy has just committed while this one waited for the write lock.
        if not conn.execute("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()"
                            " AND tablename = 'schema_version')").fetchone()[0]:
            return 0
        return conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _set_schema_version(conn: Connection, number: int) -> None:
    if isinstance(conn, PgConnection):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    else:
        conn.execute(f"PRAGMA user_version = {number}")


def migrate(conn: Connection) -> int:
    """Apply the missing migrations, each in one transaction; return the schema version.

    The version is read inside each step's transaction: two copies starting together on one
    PostgreSQL database apply each step once (the second waits for the first's write lock).
    """
    if schema_version(conn) == len(MIGRATIONS):
        return len(MIGRATIONS)  # the usual start: no write transaction at all
    while True:
        with atomic(conn):
            version = schema_version(conn)
            if version > len(MIGRATIONS):
                raise NewerSchema(version)
            if version == len(MIGRATIONS):
                return version
            for statement in MIGRATIONS[version][1]:
                if isinstance(statement, tuple):  # the one place the two databases need different SQL
                    statement = statement[isinstance(conn, PgConnection)]
                    if statement is None:  # a step only the other database takes
                        continue
                conn.execute(postgres.ddl(statement) if isinstance(conn, PgConnection) else statement)
            _set_schema_version(conn, version + 1)
