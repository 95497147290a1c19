"""The shop's records inside a transaction: customers, dialogs and the queue, messages."""
from __future__ import annotations

import sqlite3

from .. import core
from ..core import Cause, DialogState, Person, SeatLoad
from .rows import _MESSAGE_COLUMNS, Customer, Dialog, StoredMessage


class CustomerRecords:
    conn: sqlite3.Connection

    # --- customers --------------------------------------------------------------

    def upsert_customer(self, person: Person, chat_id: int, now: float) -> Customer:
        """Create the customer on first contact, refresh their names later.

        An UPDATE first, not INSERT … ON CONFLICT: on PostgreSQL a conflicting insert still takes a number
        from the sequence, and customers' short numbers (#2) are shown to operators without gaps.
        """
        updated = self.conn.execute(
            "UPDATE customers SET chat_id = ?, first_name = ?, last_name = ?, username = ?, unreachable = 0"
            " WHERE tg_user_id = ?",
            (chat_id, person.first_name, person.last_name, person.username, person.user_id),
        ).rowcount
        if not updated:
            self.conn.execute(
                "INSERT INTO customers (tg_user_id, chat_id, first_name, last_name, username, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
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

    def customer_of_user(self, user_id: int) -> Customer | None:
        return self._customer("tg_user_id = ?", user_id)

    def find_customer(self, ref: int) -> Customer | None:
        """Find a customer by short number, else by Telegram user id."""
        return self._customer("id = ?", ref) or self._customer("tg_user_id = ?", ref)

    def set_auto_reply_time(self, customer_id: int, now: float) -> None:
        self.conn.execute("UPDATE customers SET last_auto_reply_at = ? WHERE id = ?", (now, customer_id))

    def set_unreachable(self, customer_id: int, unreachable: bool) -> None:
        self.conn.execute("UPDATE customers SET unreachable = ? WHERE id = ?", (int(unreachable), customer_id))

    # --- customers' flags ------------------------------------------------------------------

    def set_banned(self, customer_id: int, banned: bool) -> None:
        self.conn.execute("UPDATE customers SET banned = ? WHERE id = ?", (int(banned), customer_id))

    def set_flood_warned(self, customer_id: int, now: float) -> None:
        self.conn.execute("UPDATE customers SET flood_warned_at = ? WHERE id = ?", (now, customer_id))



class DialogRecords:
    conn: sqlite3.Connection

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
        state = core.next_state(None, Cause.WRITES)
        dialog_id = self.conn.execute(
            "INSERT INTO dialogs (customer_id, state, queue_pos, opened_at, queued_at) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id",
            (customer_id, state.value, self._queue_tail() + 1, now, now),
        ).fetchone()[0]
        return self.dialog(dialog_id)

    def _queue_tail(self) -> int:
        return self._one("SELECT COALESCE(MAX(queue_pos), 0) FROM dialogs WHERE state = 'queued'")[0]

    def _move(self, dialog: Dialog, cause: Cause, sql: str, params: tuple) -> None:
        """Move a dialog as the core's table says for `cause`, only if it is still in the state the caller saw."""
        new = core.next_state(dialog.state, cause)
        cur = self.conn.execute(f"{sql}, state = ? WHERE id = ? AND state = ?",
                                (*params, new.value, dialog.id, dialog.state.value))
        if cur.rowcount != 1:
            raise core.InvalidTransition(f"dialog {dialog.id} is no longer {dialog.state}")

    def assign(self, dialog: Dialog, seat: int, now: float) -> Dialog:
        """Give a queued dialog to a seat, or hand an active one over to another (which is current is not decided here)."""
        cause = Cause.HANDED_OVER if dialog.state is DialogState.ACTIVE else Cause.ASSIGNED
        self._move(dialog, cause,
                   "UPDATE dialogs SET seat = ?, queue_pos = NULL, assigned_at = ?,"
                   " operator_name = (SELECT first_name FROM seats WHERE seat = ?)", (seat, now, seat))
        self.conn.execute("UPDATE seats SET last_assigned_at = ? WHERE seat = ?", (now, seat))
        return self.dialog(dialog.id)

    def requeue_at_head(self, dialogs: list[Dialog], now: float) -> None:
        """Put active dialogs back at the head of the queue, keeping their order."""
        head = self._one("SELECT COALESCE(MIN(queue_pos), 1) FROM dialogs WHERE state = 'queued'")[0]
        for offset, dialog in enumerate(reversed(dialogs), start=1):
            # Waiting starts again: alerts and the place told count from now.
            self._move(dialog, Cause.REQUEUED,
                       "UPDATE dialogs SET seat = NULL, queue_pos = ?, queued_at = ?,"
                       " wait_alerted = 0, told_position = NULL", (head - offset, now))
            self.conn.execute("UPDATE seats SET current_dialog_id = NULL WHERE current_dialog_id = ?", (dialog.id,))

    def close_dialog(self, dialog: Dialog, cause: Cause, now: float) -> None:
        """Close a dialog for `cause` and clear it as anyone's current dialog."""
        cause = Cause(cause)
        self._move(dialog, cause,
                   "UPDATE dialogs SET queue_pos = NULL, closed_at = ?, close_reason = ?",
                   (now, cause.value))
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
            " WHERE state = 'closed' AND assigned_at IS NOT NULL ORDER BY closed_at DESC LIMIT ?) AS recent",
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



class MessageRecords:
    conn: sqlite3.Connection

    def add_faq_event(self, dialog_id: int | None, entry_number: int, kind: str, now: float) -> None:
        """Count an FAQ outcome: answered (sure), helped, not_helped, suggested (likely), suggestion_sent."""
        self.conn.execute("INSERT INTO faq_events (dialog_id, entry_number, kind, at) VALUES (?, ?, ?, ?)",
                          (dialog_id, entry_number, kind, now))

    def faq_event_counts(self, since: float) -> dict[str, int]:
        rows = self.conn.execute("SELECT kind, COUNT(*) FROM faq_events WHERE at >= ? GROUP BY kind", (since,))
        return {kind: count for kind, count in rows}

    def faq_event_exists(self, dialog_id: int, entry_number: int, kinds: tuple[str, ...]) -> bool:
        marks = ", ".join("?" * len(kinds))
        return self.conn.execute(
            f"SELECT 1 FROM faq_events WHERE dialog_id = ? AND entry_number = ? AND kind IN ({marks})",
            (dialog_id, entry_number, *kinds)).fetchone() is not None

    # --- messages -----------------------------------------------------------------------

    def add_message(
        self, *, customer_id: int, dialog_id: int | None, direction: str, author: str,
        author_user_id: int | None, content_type: str, body: str | None, file_id: str | None,
        tg_chat_id: int | None, tg_message_id: int | None, relayed: bool, now: float,
        media_group_id: str | None = None, edit_of: int | None = None, suppressed: bool = False,
        tg_date: float | None = None, flood_held: bool = False,
    ) -> int:
        """Store one message of a conversation; return its id."""
        message_id = self.conn.execute(
            "INSERT INTO messages (customer_id, dialog_id, direction, author, author_user_id, content_type, body,"
            " file_id, tg_chat_id, tg_message_id, relayed, created_at, media_group_id, edit_of, suppressed, tg_date,"
            " flood_held) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (customer_id, dialog_id, direction, author, author_user_id, content_type, body, file_id,
             tg_chat_id, tg_message_id, int(relayed), now, media_group_id, edit_of, int(suppressed), tg_date,
             int(flood_held)),
        ).fetchone()[0]
        return message_id

    def _messages(self, sql: str, params: tuple) -> list[StoredMessage]:
        rows = self.conn.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages {sql}", params).fetchall()
        return [StoredMessage(**{**dict(r), "suppressed": bool(r["suppressed"])}) for r in rows]

    def unrelayed_messages(self, dialog_id: int) -> list[StoredMessage]:
        """Return a dialog's messages not yet delivered to the other side, in order (flood holds wait)."""
        return self._messages("WHERE dialog_id = ? AND relayed = 0 AND flood_held = 0 ORDER BY id", (dialog_id,))

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
            " WHERE customer_id = ? AND direction = 'in' ORDER BY id DESC LIMIT ?) AS recent"
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

    # --- customers' messages held by the flood limit ---------------------------------

    def has_flood_held(self, customer_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM messages WHERE customer_id = ? AND flood_held = 1 AND relayed = 0",
                                 (customer_id,)).fetchone() is not None

    def flood_held_customers(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT customer_id FROM messages WHERE flood_held = 1")]

    def release_flood_held(self, customer_id: int) -> list[StoredMessage]:
        """Let a customer's held messages go to the relay: return them (in order) and clear the hold."""
        held = self._messages("WHERE customer_id = ? AND flood_held = 1 AND relayed = 0 ORDER BY id", (customer_id,))
        self.conn.execute("UPDATE messages SET flood_held = 0 WHERE customer_id = ? AND flood_held = 1", (customer_id,))
        return held

    def album_first_held(self, dialog_id: int, media_group_id: str) -> bool | None:
        """For an album part: whether the album's first stored part is flood-held (None if this is the first)."""
        row = self.conn.execute(
            "SELECT flood_held FROM messages WHERE dialog_id = ? AND media_group_id = ? AND direction = 'in'"
            " ORDER BY id LIMIT 1", (dialog_id, media_group_id)).fetchone()
        return None if row is None else bool(row[0])

    def skip_superseded_edits(self, original_id: int) -> None:
        """A newer edit replaces older ones not relayed yet: those are never relayed."""
        self.conn.execute("UPDATE messages SET relayed = 1 WHERE edit_of = ? AND relayed = 0", (original_id,))
