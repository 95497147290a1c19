"""The durable queues: inbox (raw updates), outbox (what must be sent), dead letters.

`QueueStorage` holds the sender's and poller's own transactions; `QueueTx` the queue
queries that run inside a handler's transaction.
"""
from __future__ import annotations

import json
import secrets
import sqlite3

from ..core import Action
from .postgres import SENDER_LOCK_CLASS
from .rows import InboxRow, OutboxRow
from .schema import dialect

INBOX_MAX_ATTEMPTS = 3


_SENDER_LOCK = f"l.locktype = 'advisory' AND l.granted AND l.classid::bigint = {SENDER_LOCK_CLASS} AND l.objsubid = 2"


def _alive(alias: str) -> str:
    """SQL: the sender that claimed row `alias` still holds its lock (its copy is alive)."""
    return f"EXISTS (SELECT 1 FROM pg_locks l WHERE {_SENDER_LOCK} AND l.objid::bigint = {alias}.claimed_by)"


class QueueStorage:
    conn: sqlite3.Connection

    # --- intake ---------------------------------------------------------

    def add_updates(self, updates: list[tuple[int, str, str]], now: float) -> int:
        """Store raw updates (update_id, kind, json) once each; return how many were new."""
        with self.transaction():
            return sum(
                self.conn.execute(
                    "INSERT INTO inbox (update_id, kind, payload, received_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (uid, kind, payload, now),
                ).rowcount
                for uid, kind, payload in updates
            )

    def set_aside_updates(self, updates: list[tuple[int, str, str, str]], now: float) -> None:
        """Keep updates that could not be stored as received (update_id, kind, storable text, error): each
        becomes an inbox row marked dead plus a dead letter, once per update_id."""
        with self.transaction():
            for update_id, kind, payload, error in updates:
                stored = self.conn.execute(
                    "INSERT INTO inbox (update_id, kind, payload, status, last_error, received_at)"
                    " VALUES (?, ?, ?, 'dead', ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                    (update_id, kind, payload, error, now),
                ).fetchone()
                if stored is not None:
                    self.conn.execute(
                        "INSERT INTO dead_letters (inbox_id, update_id, payload, error, created_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (stored[0], update_id, payload, error, now),
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
        return self._outbox_rows("SELECT id, chat_id, kind, payload, message_id, attempts FROM outbox"
                                 " WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?", (after_id, limit))

    def sender_key(self) -> int | None:
        """On PostgreSQL, take this sender's own lock and return its key, the owner of its claims; None on SQLite
        (one copy per database file: its sender takes every pending row)."""
        if dialect(self.conn) != "postgresql":
            return None
        key = 1 + secrets.randbelow(2**31 - 2)
        self.conn.execute("SELECT pg_advisory_lock(?, ?)", (SENDER_LOCK_CLASS, key))
        return key

    def claim_outbox(self, owner: int | None, after_id: int, limit: int = 1000) -> tuple[list[OutboxRow], bool]:
        """Pending rows with id > after_id that this sender may send, oldest first; and whether another
        sender that is alive still holds rows (worth looking again soon).

        Without an owner (SQLite) every pending row is the sender's. On PostgreSQL a row is free when no
        sender claimed it or its claimant's lock is gone (that copy died or stopped); rows this sender claimed
        itself are never taken again. A chat's row is not taken while an older row of that chat is held by
        another live sender, so each chat stays in order. Free rows are locked with FOR UPDATE SKIP LOCKED and
        marked as this sender's in the same transaction, so two copies that overlap never both send one row.
        """
        if owner is None:
            return self.pending_outbox(after_id, limit), False
        with self.transaction():
            # A connection the driver opened again has lost the lock: take it again (the key is this sender's).
            self.conn.execute(
                f"SELECT pg_advisory_lock(?, ?) WHERE NOT EXISTS (SELECT 1 FROM pg_locks l WHERE {_SENDER_LOCK}"
                " AND l.objid::bigint = ? AND l.pid = pg_backend_pid())", (SENDER_LOCK_CLASS, owner, owner))
            ids = [r[0] for r in self.conn.execute(
                "SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.id > ?"
                f" AND (o.claimed_by IS NULL OR (o.claimed_by <> ? AND NOT {_alive('o')}))"
                " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id AND e.status = 'pending'"
                f" AND e.id < o.id AND e.claimed_by <> ? AND {_alive('e')})"
                " ORDER BY o.id LIMIT ? FOR UPDATE OF o SKIP LOCKED", (after_id, owner, owner, limit))]
            self.conn.executemany("UPDATE outbox SET claimed_by = ? WHERE id = ?", [(owner, i) for i in ids])
            others = self.conn.execute(
                "SELECT EXISTS (SELECT 1 FROM outbox o WHERE o.status = 'pending' AND o.claimed_by <> ?"
                f" AND {_alive('o')})", (owner,)).fetchone()[0]
            rows = self._outbox_rows("SELECT id, chat_id, kind, payload, message_id, attempts FROM outbox"
                                     " WHERE id = ANY(?) ORDER BY id", (ids,)) if ids else []
        return rows, bool(others)

    def _outbox_rows(self, sql: str, params: tuple) -> list[OutboxRow]:
        return [OutboxRow(r["id"], r["chat_id"], r["kind"], json.loads(r["payload"]), r["message_id"], r["attempts"])
                for r in self.conn.execute(sql, params).fetchall()]

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
                          album_ids: list[tuple[int, int, int]] = (), topics: list[tuple[int, int, int | None]] = (),
                          recreated: list[tuple[int, int]] = ()) -> None:
        """Record the sender's outcomes: rows sent (and the later ids of copied albums: outbox id, chat, message),
        rows to retry, rows set aside (with an event for each), the thread ids dialogs' topics got (dialog, chat,
        thread or None) and the topics opened again because they were gone (chat, dialog: an event each)."""
        with self.transaction():
            self.conn.executemany("UPDATE dialog_topics SET thread_id = ? WHERE dialog_id = ? AND chat_id = ?",
                                  [(thread_id, dialog_id, chat_id) for dialog_id, chat_id, thread_id in topics])
            self.conn.executemany(
                "INSERT INTO inbox (kind, payload, received_at) VALUES ('topic_recreated', ?, ?)",
                [(json.dumps({"chat_id": chat_id, "dialog_id": dialog_id}), now) for chat_id, dialog_id in recreated])
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



class QueueTx:
    conn: sqlite3.Connection

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
        outbox_id = self.conn.execute(
            "INSERT INTO outbox (chat_id, kind, payload, message_id, customer_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (action.chat_id, type(action).__name__, json.dumps(payload, ensure_ascii=False), message_id,
             customer_id, now),
        ).fetchone()[0]
        self.enqueued += 1
        return outbox_id
