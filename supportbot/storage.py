"""All SQL of the bot: schema, migrations, and every query.

No other module builds SQL. Every value is a `?` placeholder. Each thread opens
its own Storage (one connection; never shared across threads). A public
Storage method is one transaction; `Storage.transaction()` yields a Tx whose
methods run inside one caller-held transaction (the processor's group commit).
Times are integer or real Unix seconds, UTC.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import core
from .core import Action, DialogState, Person, SeatLoad

MIGRATIONS: list[tuple[str, list[str]]] = [
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
]

INBOX_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Customer:
    id: int
    tg_user_id: int
    chat_id: int
    first_name: str
    last_name: str | None
    username: str | None
    banned: bool
    unreachable: bool
    last_auto_reply_at: float | None
    flood_warned_at: float | None

    @property
    def label(self) -> str:
        return core.describe_person(self.first_name, self.username, self.id, self.last_name)


@dataclass(frozen=True)
class Dialog:
    id: int
    customer_id: int
    state: DialogState
    seat: int | None
    queue_pos: int | None
    opened_at: float
    queued_at: float | None
    assigned_at: float | None
    told_position: int | None
    rating: int | None


@dataclass(frozen=True)
class SeatRow:
    seat: int
    tg_user_id: int | None
    chat_id: int | None
    first_name: str | None
    username: str | None
    current_dialog_id: int | None
    last_assigned_at: float
    last_seen_at: float | None
    idle_asked_at: float | None


@dataclass(frozen=True)
class StoredMessage:
    id: int
    customer_id: int
    dialog_id: int | None
    direction: str
    author: str
    content_type: str
    body: str | None
    file_id: str | None
    tg_chat_id: int | None
    tg_message_id: int | None
    created_at: float
    media_group_id: str | None
    edit_of: int | None
    suppressed: bool


_MESSAGE_COLUMNS = ("id, customer_id, dialog_id, direction, author, content_type, body, file_id, tg_chat_id,"
                    " tg_message_id, created_at, media_group_id, edit_of, suppressed")


@dataclass(frozen=True)
class InboxRow:
    id: int
    update_id: int | None
    kind: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    kind: str
    payload: dict
    message_id: int | None
    attempts: int


def connect(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open a connection with the bot's pragmas; the caller owns it on one thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")  # outside any transaction
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class NewerSchema(RuntimeError):
    """The database was written by a newer version of the bot."""

    def __init__(self, version: int):
        super().__init__(f"database schema {version} is newer than this program ({len(MIGRATIONS)})")
        self.version = version


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the missing migrations, each in one transaction; return the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise NewerSchema(version)
    for number, (_name, statements) in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


class Storage:
    """One thread's connection to the bot's database."""

    def __init__(self, path: Path, *, synchronous: str = "FULL"):
        self.path = path
        self.conn = connect(path, synchronous=synchronous)
        migrate(self.conn)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator["Tx"]:
        """Run a block in one write transaction; roll back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield Tx(self.conn)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- intake ---------------------------------------------------------

    def add_updates(self, updates: list[tuple[int, str, str]], now: float) -> int:
        """Store raw updates (update_id, kind, json) once each; return how many were new."""
        with self.transaction():
            before = self.conn.total_changes
            self.conn.executemany(
                "INSERT OR IGNORE INTO inbox (update_id, kind, payload, received_at) VALUES (?, ?, ?, ?)",
                [(uid, kind, payload, now) for uid, kind, payload in updates],
            )
            return self.conn.total_changes - before

    def set_aside_updates(self, updates: list[tuple[int, str, str, str]], now: float) -> None:
        """Keep updates that could not be stored as received (update_id, kind, storable text, error): each
        becomes an inbox row marked dead plus a dead letter, once per update_id."""
        with self.transaction():
            for update_id, kind, payload, error in updates:
                cur = self.conn.execute(
                    "INSERT OR IGNORE INTO inbox (update_id, kind, payload, status, last_error, received_at)"
                    " VALUES (?, ?, ?, 'dead', ?, ?)",
                    (update_id, kind, payload, error, now),
                )
                if cur.rowcount:
                    self.conn.execute(
                        "INSERT INTO dead_letters (inbox_id, update_id, payload, error, created_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (cur.lastrowid, update_id, payload, error, now),
                    )

    def new_inbox(self, limit: int) -> list[InboxRow]:
        """Return the oldest unprocessed inbox rows."""
        rows = self.conn.execute(
            "SELECT id, update_id, kind, payload, attempts FROM inbox WHERE status = 'new' ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        return [InboxRow(**dict(r)) for r in rows]

    def dead_letters(self) -> list[sqlite3.Row]:
        """Return the updates set aside as unprocessable."""
        return self.conn.execute("SELECT * FROM dead_letters ORDER BY id").fetchall()

    # --- outbox delivery (sender threads) --------------------------------

    def sent_message_id(self, outbox_id: int) -> int | None:
        """The Telegram message id an outbox row produced, once sent."""
        row = self.conn.execute("SELECT result_message_id FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
        return row[0] if row else None

    def pending_outbox(self, after_id: int, limit: int = 1000) -> list[OutboxRow]:
        """Return pending outbox rows with id > after_id, oldest first."""
        rows = self.conn.execute(
            "SELECT id, chat_id, kind, payload, message_id, attempts FROM outbox"
            " WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [OutboxRow(r["id"], r["chat_id"], r["kind"], json.loads(r["payload"]), r["message_id"], r["attempts"])
                for r in rows]

    def relayed_texts(self, after_id: int, up_to_id: int) -> dict[int, tuple[int, str]]:
        """Pending outbox rows with after_id < id <= up_to_id that relay a customer's text message (not an edit):
        outbox id -> (customer id, the text as the customer wrote it). The sender may combine these."""
        rows = self.conn.execute(
            "SELECT o.id, o.customer_id, m.body FROM outbox o JOIN messages m ON m.id = o.message_id"
            " WHERE o.status = 'pending' AND o.id > ? AND o.id <= ? AND o.kind = 'SendText'"
            " AND o.customer_id IS NOT NULL AND m.direction = 'in' AND m.content_type = 'text'"
            " AND m.edit_of IS NULL AND m.body IS NOT NULL",
            (after_id, up_to_id),
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def record_deliveries(self, *, sent: list[tuple[int, int | None]], retries: list[tuple[int, str]],
                          failed: list[tuple[int, str, dict | None]], now: float,
                          album_ids: list[tuple[int, int, int]] = ()) -> None:
        """Record the sender's outcomes: rows sent (and the later ids of copied albums: outbox id, chat, message),
        rows to retry, rows set aside (with an event for each)."""
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO outbox_album_ids (outbox_id, chat_id, message_id) VALUES (?, ?, ?)", album_ids
            )
            self.conn.executemany(
                "UPDATE outbox SET status = 'sent', sent_at = ?, result_message_id = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [(now, result_id, outbox_id) for outbox_id, result_id in sent],
            )
            self.conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(error, outbox_id) for outbox_id, error in retries],
            )
            self.conn.executemany(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(error, outbox_id) for outbox_id, error, _event in failed],
            )
            self.conn.executemany(
                "INSERT INTO inbox (kind, payload, received_at) VALUES ('delivery_failure', ?, ?)",
                [(json.dumps(event), now) for _id, _error, event in failed if event is not None],
            )

    def outbox_counts(self) -> dict[str, int]:
        """Count outbox rows by status."""
        rows = self.conn.execute("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status").fetchall()
        return {r["status"]: r["n"] for r in rows}

    # --- reading (operators' history, start-up) --------------------------

    def seats(self) -> list[SeatRow]:
        """Return every seat row (logged in or not)."""
        with self.transaction() as tx:
            return tx.seats()


class Tx:
    """Queries that run inside a transaction held by the caller."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._savepoints = 0
        self.enqueued = 0  # outbox rows queued in this transaction (the sender is woken only for news)

    def _one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only this block's writes if it raises."""
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        self.conn.execute(f"RELEASE {name}")

    # --- inbox --------------------------------------------------------------

    def inbox_done(self, inbox_id: int) -> None:
        self.conn.execute("UPDATE inbox SET status = 'done' WHERE id = ?", (inbox_id,))

    def inbox_failed(self, row: InboxRow, error: str, now: float) -> bool:
        """Count a failed try; after INBOX_MAX_ATTEMPTS set the row aside. Return True if dead-lettered."""
        attempts = row.attempts + 1
        if attempts >= INBOX_MAX_ATTEMPTS:
            self.conn.execute(
                "UPDATE inbox SET status = 'dead', attempts = ?, last_error = ? WHERE id = ?", (attempts, error, row.id)
            )
            self.conn.execute(
                "INSERT INTO dead_letters (inbox_id, update_id, payload, error, created_at) VALUES (?, ?, ?, ?, ?)",
                (row.id, row.update_id, row.payload, error, now),
            )
            return True
        self.conn.execute("UPDATE inbox SET attempts = ?, last_error = ? WHERE id = ?", (attempts, error, row.id))
        return False

    # --- customers --------------------------------------------------------------

    def upsert_customer(self, person: Person, chat_id: int, now: float) -> Customer:
        """Create the customer on first contact, refresh their names later."""
        self.conn.execute(
            "INSERT INTO customers (tg_user_id, chat_id, first_name, last_name, username, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (tg_user_id) DO UPDATE SET chat_id = excluded.chat_id, first_name = excluded.first_name,"
            " last_name = excluded.last_name, username = excluded.username, unreachable = 0",
            (person.user_id, chat_id, person.first_name, person.last_name, person.username, now),
        )
        return self._customer("tg_user_id = ?", person.user_id)

    def _customer(self, where: str, value: int) -> Customer | None:
        row = self._one(
            "SELECT id, tg_user_id, chat_id, first_name, last_name, username, banned, unreachable,"
            f" last_auto_reply_at, flood_warned_at FROM customers WHERE {where}",
            (value,),
        )
        if row is None:
            return None
        data = dict(row)
        data["banned"] = bool(data["banned"])
        data["unreachable"] = bool(data["unreachable"])
        return Customer(**data)

    def customer(self, customer_id: int) -> Customer | None:
        return self._customer("id = ?", customer_id)

    def customer_by_chat(self, chat_id: int) -> Customer | None:
        return self._customer("chat_id = ?", chat_id)

    def find_customer(self, ref: int) -> Customer | None:
        """Find a customer by short number, else by Telegram user id."""
        return self._customer("id = ?", ref) or self._customer("tg_user_id = ?", ref)

    def set_auto_reply_time(self, customer_id: int, now: float) -> None:
        self.conn.execute("UPDATE customers SET last_auto_reply_at = ? WHERE id = ?", (now, customer_id))

    def set_unreachable(self, customer_id: int, unreachable: bool) -> None:
        self.conn.execute("UPDATE customers SET unreachable = ? WHERE id = ?", (int(unreachable), customer_id))

    # --- dialogs ------------------------------------------------------------------

    _DIALOG_COLUMNS = ("id, customer_id, state, seat, queue_pos, opened_at, queued_at, assigned_at, told_position,"
                       " rating")

    def _dialog(self, row: sqlite3.Row | None) -> Dialog | None:
        return None if row is None else self._dialog_from(dict(row))

    @staticmethod
    def _dialog_from(data: dict) -> Dialog:
        data["state"] = DialogState(data["state"])
        return Dialog(**data)

    def dialog(self, dialog_id: int) -> Dialog | None:
        return self._dialog(self._one(f"SELECT {self._DIALOG_COLUMNS} FROM dialogs WHERE id = ?", (dialog_id,)))

    def open_dialog(self, customer_id: int) -> Dialog | None:
        """Return the customer's queued or active dialog, if any."""
        return self._dialog(self._one(
            f"SELECT {self._DIALOG_COLUMNS} FROM dialogs WHERE customer_id = ? AND state <> 'closed'",
            (customer_id,),
        ))

    def create_dialog(self, customer_id: int, now: float) -> Dialog:
        """Open a new dialog for the customer, at the tail of the queue."""
        core.check_transition(None, DialogState.QUEUED)
        cur = self.conn.execute(
            "INSERT INTO dialogs (customer_id, state, queue_pos, opened_at, queued_at) VALUES (?, ?, ?, ?, ?)",
            (customer_id, DialogState.QUEUED.value, self._queue_tail() + 1, now, now),
        )
        return self.dialog(cur.lastrowid)

    def _queue_tail(self) -> int:
        return self._one("SELECT COALESCE(MAX(queue_pos), 0) FROM dialogs WHERE state = 'queued'")[0]

    def _move(self, dialog: Dialog, new: DialogState, sql: str, params: tuple) -> None:
        """Run a state-changing UPDATE only if the dialog is still in the state the caller saw."""
        core.check_transition(dialog.state, new)
        cur = self.conn.execute(f"{sql} WHERE id = ? AND state = ?", (*params, dialog.id, dialog.state.value))
        if cur.rowcount != 1:
            raise core.InvalidTransition(f"dialog {dialog.id} is no longer {dialog.state}")

    def assign(self, dialog: Dialog, seat: int, now: float) -> Dialog:
        """Give a dialog to a seat; it becomes the seat's current dialog only if the seat has none."""
        self._move(dialog, DialogState.ACTIVE,
                   "UPDATE dialogs SET state = 'active', seat = ?, queue_pos = NULL, assigned_at = ?,"
                   " operator_name = (SELECT first_name FROM seats WHERE seat = ?)", (seat, now, seat))
        self.conn.execute("UPDATE seats SET last_assigned_at = ? WHERE seat = ?", (now, seat))
        if self.current_dialog(seat) is None:
            self.set_current(seat, dialog.id)
        return self.dialog(dialog.id)

    def requeue_at_head(self, dialogs: list[Dialog], now: float) -> None:
        """Put active dialogs back at the head of the queue, keeping their order."""
        head = self._one("SELECT COALESCE(MIN(queue_pos), 1) FROM dialogs WHERE state = 'queued'")[0]
        for offset, dialog in enumerate(reversed(dialogs), start=1):
            # Waiting starts again: alerts and the place told count from now.
            self._move(dialog, DialogState.QUEUED,
                       "UPDATE dialogs SET state = 'queued', seat = NULL, queue_pos = ?, queued_at = ?,"
                       " wait_alerted = 0, told_position = NULL", (head - offset, now))
            self.conn.execute("UPDATE seats SET current_dialog_id = NULL WHERE current_dialog_id = ?", (dialog.id,))

    def close_dialog(self, dialog: Dialog, reason: str, now: float) -> None:
        """Close a dialog and clear it as anyone's current dialog."""
        self._move(dialog, DialogState.CLOSED,
                   "UPDATE dialogs SET state = 'closed', queue_pos = NULL, closed_at = ?, close_reason = ?",
                   (now, reason))
        self.conn.execute("UPDATE seats SET current_dialog_id = NULL WHERE current_dialog_id = ?", (dialog.id,))

    def queue_position(self, dialog: Dialog) -> int:
        """Return the 1-based place of a queued dialog."""
        return self._one(
            "SELECT COUNT(*) FROM dialogs WHERE state = 'queued' AND queue_pos <= ?", (dialog.queue_pos,)
        )[0]

    def queue_head(self) -> Dialog | None:
        """Return the longest-waiting queued dialog."""
        return self._dialog(self._one(
            f"SELECT {self._DIALOG_COLUMNS} FROM dialogs WHERE state = 'queued' ORDER BY queue_pos LIMIT 1"
        ))

    def seat_dialogs(self, seat: int) -> list[Dialog]:
        """Return a seat's active dialogs, oldest assignment first."""
        rows = self.conn.execute(
            f"SELECT {self._DIALOG_COLUMNS} FROM dialogs WHERE seat = ? AND state = 'active' ORDER BY assigned_at, id",
            (seat,),
        ).fetchall()
        return [self._dialog(r) for r in rows]

    def seat_loads(self, seats: list[int]) -> list[SeatLoad]:
        """Return open-dialog counts of the given seats."""
        loads = []
        for seat in seats:
            row = self._one(
                "SELECT (SELECT COUNT(*) FROM dialogs WHERE seat = ? AND state = 'active') AS n, last_assigned_at"
                " FROM seats WHERE seat = ?",
                (seat, seat),
            )
            loads.append(SeatLoad(seat, row["n"], row["last_assigned_at"]))
        return loads

    # --- seats ------------------------------------------------------------------------

    def seats(self) -> list[SeatRow]:
        rows = self.conn.execute(
            "SELECT seat, tg_user_id, chat_id, first_name, username, current_dialog_id, last_assigned_at,"
            " last_seen_at, idle_asked_at FROM seats ORDER BY seat"
        ).fetchall()
        return [SeatRow(**dict(r)) for r in rows]

    def seat_login(self, seat: int, person: Person, chat_id: int, now: float, pin_salt: str, pin_hash: str) -> None:
        """Make `person` the operator of `seat`, keeping its dialogs; remember which PIN opened it."""
        self.conn.execute(
            "INSERT INTO seats (seat, tg_user_id, chat_id, first_name, username, logged_in_at, last_seen_at,"
            " idle_asked_at, pin_salt, pin_hash) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)"
            " ON CONFLICT (seat) DO UPDATE SET tg_user_id = excluded.tg_user_id, chat_id = excluded.chat_id,"
            " first_name = excluded.first_name, username = excluded.username,"
            " logged_in_at = excluded.logged_in_at, last_seen_at = excluded.last_seen_at, idle_asked_at = NULL,"
            " pin_salt = excluded.pin_salt, pin_hash = excluded.pin_hash",
            (seat, person.user_id, chat_id, person.first_name, person.username, now, now, pin_salt, pin_hash),
        )

    def set_seat_pin(self, seat: int, pin_salt: str, pin_hash: str) -> None:
        self.conn.execute("UPDATE seats SET pin_salt = ?, pin_hash = ? WHERE seat = ?", (pin_salt, pin_hash, seat))

    def seat_pin(self, seat: int) -> tuple[str | None, str | None]:
        """The salt and hash of the PIN that opened a seat."""
        row = self._one("SELECT pin_salt, pin_hash FROM seats WHERE seat = ?", (seat,))
        return (None, None) if row is None else (row["pin_salt"], row["pin_hash"])

    def seat_logout(self, seat: int) -> None:
        self.conn.execute(
            "UPDATE seats SET tg_user_id = NULL, chat_id = NULL, current_dialog_id = NULL WHERE seat = ?", (seat,)
        )

    def set_current(self, seat: int, dialog_id: int | None) -> None:
        self.conn.execute("UPDATE seats SET current_dialog_id = ? WHERE seat = ?", (dialog_id, seat))

    def current_dialog(self, seat: int) -> Dialog | None:
        """Return the seat's current dialog if it is still active and theirs."""
        return self._dialog(self._one(
            f"SELECT {', '.join('d.' + c.strip() for c in self._DIALOG_COLUMNS.split(','))}"
            " FROM seats s JOIN dialogs d ON d.id = s.current_dialog_id"
            " WHERE s.seat = ? AND d.state = 'active' AND d.seat = s.seat",
            (seat,),
        ))

    def login_failures(self, user_id: int) -> tuple[int, float | None]:
        row = self._one("SELECT failures, locked_until FROM login_failures WHERE tg_user_id = ?", (user_id,))
        return (0, None) if row is None else (row["failures"], row["locked_until"])

    def set_login_failures(self, user_id: int, failures: int, locked_until: float | None) -> None:
        self.conn.execute(
            "INSERT INTO login_failures (tg_user_id, failures, locked_until) VALUES (?, ?, ?)"
            " ON CONFLICT (tg_user_id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
            (user_id, failures, locked_until),
        )

    # --- messages -----------------------------------------------------------------------

    def add_message(
        self, *, customer_id: int, dialog_id: int | None, direction: str, author: str,
        author_user_id: int | None, content_type: str, body: str | None, file_id: str | None,
        tg_chat_id: int | None, tg_message_id: int | None, relayed: bool, now: float,
        media_group_id: str | None = None, edit_of: int | None = None, suppressed: bool = False,
        tg_date: float | None = None,
    ) -> int:
        """Store one message of a conversation; return its id."""
        cur = self.conn.execute(
            "INSERT INTO messages (customer_id, dialog_id, direction, author, author_user_id, content_type, body,"
            " file_id, tg_chat_id, tg_message_id, relayed, created_at, media_group_id, edit_of, suppressed, tg_date)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (customer_id, dialog_id, direction, author, author_user_id, content_type, body, file_id,
             tg_chat_id, tg_message_id, int(relayed), now, media_group_id, edit_of, int(suppressed), tg_date),
        )
        return cur.lastrowid

    def _messages(self, sql: str, params: tuple) -> list[StoredMessage]:
        rows = self.conn.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages {sql}", params).fetchall()
        return [StoredMessage(**{**dict(r), "suppressed": bool(r["suppressed"])}) for r in rows]

    def unrelayed_messages(self, dialog_id: int) -> list[StoredMessage]:
        """Return a dialog's messages not yet delivered to the other side, in order."""
        return self._messages("WHERE dialog_id = ? AND relayed = 0 ORDER BY id", (dialog_id,))

    def mark_relayed(self, message_ids: list[int]) -> None:
        self.conn.executemany("UPDATE messages SET relayed = 1 WHERE id = ?", [(i,) for i in message_ids])

    def history(self, customer_id: int, limit: int) -> list[StoredMessage]:
        """Return the customer's last `limit` messages, oldest first."""
        return list(reversed(self._messages("WHERE customer_id = ? ORDER BY id DESC LIMIT ?", (customer_id, limit))))

    def message_by_telegram_id(self, chat_id: int, message_id: int) -> StoredMessage | None:
        """Find the stored original of a Telegram message (the first version, not an edit)."""
        found = self._messages("WHERE tg_chat_id = ? AND tg_message_id = ? AND edit_of IS NULL ORDER BY id LIMIT 1",
                               (chat_id, message_id))
        return found[0] if found else None

    def last_message(self, dialog_id: int) -> StoredMessage | None:
        found = self._messages("WHERE dialog_id = ? AND direction IN ('in', 'out') ORDER BY id DESC LIMIT 1",
                               (dialog_id,))
        return found[0] if found else None

    def recent_incoming_count(self, customer_id: int, since: float, at_most: int) -> int:
        """Count a customer's messages written (by Telegram's clock) since a time, among the last `at_most`."""
        return self._one(
            "SELECT COUNT(*) FROM (SELECT COALESCE(tg_date, created_at) AS written FROM messages"
            " WHERE customer_id = ? AND direction = 'in' AND edit_of IS NULL ORDER BY id DESC LIMIT ?)"
            " WHERE written >= ?",
            (customer_id, at_most, since),
        )[0]

    def album_ready(self, dialog_id: int, media_group_id: str, quiet_since: float) -> bool:
        """Tell whether an album's last part arrived before `quiet_since` (no more parts are coming)."""
        return self._one(
            "SELECT MAX(created_at) FROM messages WHERE dialog_id = ? AND media_group_id = ?",
            (dialog_id, media_group_id),
        )[0] <= quiet_since

    def dialogs_with_unrelayed_albums(self, quiet_since: float) -> list[int]:
        """Return open dialogs holding album parts not delivered yet whose last part is older than quiet_since."""
        rows = self.conn.execute(
            "SELECT m.dialog_id FROM messages m JOIN dialogs d ON d.id = m.dialog_id"
            " WHERE m.relayed = 0 AND m.media_group_id IS NOT NULL AND d.state = 'active'"
            " GROUP BY m.dialog_id, m.media_group_id HAVING MAX(m.created_at) <= ?",
            (quiet_since,),
        ).fetchall()
        return sorted({r[0] for r in rows})

    def set_first_response(self, dialog_id: int, now: float) -> None:
        self.conn.execute(
            "UPDATE dialogs SET first_response_at = ? WHERE id = ? AND first_response_at IS NULL", (now, dialog_id)
        )

    # --- queue, alerts, statistics -------------------------------------------------------

    def queued_dialogs(self) -> list[Dialog]:
        """Return the queue, head first."""
        rows = self.conn.execute(
            f"SELECT {self._DIALOG_COLUMNS} FROM dialogs WHERE state = 'queued' ORDER BY queue_pos"
        ).fetchall()
        return [self._dialog(r) for r in rows]

    def average_dialog_seconds(self, recent: int = 20) -> float | None:
        """Average length of the last `recent` closed dialogs (assignment to close)."""
        return self._one(
            "SELECT AVG(closed_at - assigned_at) FROM (SELECT closed_at, assigned_at FROM dialogs"
            " WHERE state = 'closed' AND assigned_at IS NOT NULL ORDER BY closed_at DESC LIMIT ?)",
            (recent,),
        )[0]

    def set_told_position(self, dialog_id: int, position: int) -> None:
        self.conn.execute("UPDATE dialogs SET told_position = ? WHERE id = ?", (position, dialog_id))

    def dialogs_to_alert_waiting(self, queued_before: float) -> list[Dialog]:
        """Queued dialogs waiting since before a time that no alert was sent for yet."""
        rows = self.conn.execute(
            f"SELECT {self._DIALOG_COLUMNS} FROM dialogs WHERE state = 'queued' AND wait_alerted = 0"
            " AND queued_at <= ? ORDER BY queue_pos",
            (queued_before,),
        ).fetchall()
        return [self._dialog(r) for r in rows]

    def mark_wait_alerted(self, dialog_id: int) -> None:
        self.conn.execute("UPDATE dialogs SET wait_alerted = 1 WHERE id = ?", (dialog_id,))

    def seats_with_unanswered(self) -> set[int]:
        """Seats with an active dialog whose latest message is the customer's."""
        rows = self.conn.execute(
            "SELECT DISTINCT d.seat FROM dialogs d JOIN messages m ON m.id = (SELECT MAX(id) FROM messages"
            "   WHERE dialog_id = d.id AND direction IN ('in', 'out') AND suppressed = 0)"
            " WHERE d.state = 'active' AND m.direction = 'in'"
        ).fetchall()
        return {r[0] for r in rows}

    def prune(self, done_before: float, sent_before: float, batch: int = 5000) -> None:
        """Forget some applied updates and delivered outbox rows older than the given times.

        A batch at a time, so the write lock is held briefly; the newest row of each table stays,
        so SQLite never hands out an id again (the sender loads outbox rows by rising id).
        """
        for table, status, column, before in (("inbox", "done", "received_at", done_before),
                                              ("outbox", "sent", "sent_at", sent_before)):
            self.conn.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE status = ? AND {column} < ?"
                f" AND id < (SELECT MAX(id) FROM {table}) LIMIT ?)",
                (status, before, batch),
            )
        self.conn.execute("DELETE FROM outbox_album_ids WHERE outbox_id < (SELECT MIN(id) FROM outbox)")

    def unanswered_dialogs(self, last_before: float) -> list[tuple[Dialog, StoredMessage]]:
        """Active dialogs whose latest message is the customer's, older than a time, not reminded about yet."""
        rows = self.conn.execute(
            f"SELECT {', '.join('d.' + c.strip() for c in self._DIALOG_COLUMNS.split(','))}, m.id AS message_id"
            " FROM dialogs d JOIN messages m ON m.id = (SELECT MAX(id) FROM messages"
            "   WHERE dialog_id = d.id AND direction IN ('in', 'out') AND suppressed = 0)"
            " WHERE d.state = 'active' AND m.direction = 'in' AND m.created_at <= ?"
            " AND (d.unanswered_alerted_message IS NULL OR d.unanswered_alerted_message <> m.id)",
            (last_before,),
        ).fetchall()
        found = []
        for row in rows:
            data = dict(row)
            message_id = data.pop("message_id")
            found.append((self._dialog_from(data), self._messages("WHERE id = ?", (message_id,))[0]))
        return found

    def mark_unanswered_alerted(self, dialog_id: int, message_id: int) -> None:
        self.conn.execute("UPDATE dialogs SET unanswered_alerted_message = ? WHERE id = ?", (message_id, dialog_id))

    def set_rating(self, dialog_id: int, rating: int) -> None:
        self.conn.execute("UPDATE dialogs SET rating = ? WHERE id = ?", (rating, dialog_id))

    def dialog_facts(self, since: float) -> list[core.DialogFacts]:
        """Facts of the dialogs opened since a time, for statistics."""
        rows = self.conn.execute(
            "SELECT operator_name, opened_at, assigned_at, first_response_at, closed_at, rating FROM dialogs"
            " WHERE opened_at >= ?",
            (since,),
        ).fetchall()
        return [core.DialogFacts(r["operator_name"], r["opened_at"], r["assigned_at"], r["first_response_at"],
                                 r["closed_at"], r["rating"]) for r in rows]

    # --- customers' flags ------------------------------------------------------------------

    def set_banned(self, customer_id: int, banned: bool) -> None:
        self.conn.execute("UPDATE customers SET banned = ? WHERE id = ?", (int(banned), customer_id))

    def set_flood_warned(self, customer_id: int, now: float) -> None:
        self.conn.execute("UPDATE customers SET flood_warned_at = ? WHERE id = ?", (now, customer_id))

    # --- seats' activity ------------------------------------------------------------------------

    def seat_seen(self, seat: int, now: float) -> None:
        self.conn.execute("UPDATE seats SET last_seen_at = ? WHERE seat = ?", (now, seat))

    def set_idle_asked(self, seat: int, now: float | None) -> None:
        self.conn.execute("UPDATE seats SET idle_asked_at = ? WHERE seat = ?", (now, seat))

    # --- links between sent messages and customers -------------------------------------------------

    def customer_of_sent_message(self, chat_id: int, message_id: int) -> int | None:
        """Which customer a message the bot sent into a chat was about (relays and notices)."""
        row = self._one(
            "SELECT customer_id FROM outbox WHERE chat_id = ? AND result_message_id = ? AND customer_id IS NOT NULL",
            (chat_id, message_id),
        ) or self._one(
            "SELECT o.customer_id FROM outbox_album_ids a JOIN outbox o ON o.id = a.outbox_id"
            " WHERE a.chat_id = ? AND a.message_id = ? AND o.customer_id IS NOT NULL",
            (chat_id, message_id),
        )
        return row[0] if row else None

    def outbox_of_message(self, message_id: int, chat_id: int) -> int | None:
        """The outbox row that delivered a stored message into a chat (the last one, for a split text)."""
        row = self._one(
            "SELECT MAX(id) FROM outbox WHERE message_id = ? AND chat_id = ?", (message_id, chat_id)
        )
        return row[0] if row else None

    # --- outbox -----------------------------------------------------------------------------

    def enqueue(self, action: Action, now: float, message_id: int | None = None,
                customer_id: int | None = None) -> int:
        """Queue an action for the sender, committed with the state change that caused it; return its id."""
        payload = {k: v for k, v in vars(action).items() if k != "chat_id"}
        cur = self.conn.execute(
            "INSERT INTO outbox (chat_id, kind, payload, message_id, customer_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (action.chat_id, type(action).__name__, json.dumps(payload, ensure_ascii=False), message_id,
             customer_id, now),
        )
        self.enqueued += 1
        return cur.lastrowid


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


def _open_existing(path: Path) -> sqlite3.Connection:
    """Open an existing database file; FileNotFoundError instead of creating an empty one."""
    if not path.is_file():
        raise FileNotFoundError(f"no database file at {path}")
    # mode=rw: a mistyped DATABASE_URL must not leave an empty database behind.
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


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


def find_customer_id(path: Path, ref: int) -> int | None:
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


def export_rows(path: Path, customer_id: int | None = None, since: float | None = None) -> Iterator[ExportRow]:
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
        conn.execute("BEGIN")  # one snapshot while the bot keeps writing
        for row in conn.execute(sql, params):
            yield ExportRow(**dict(row))
    finally:
        conn.close()
