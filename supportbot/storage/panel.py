"""What the web panel reads, its search index, and how it hands actions to the bot.

The panel never changes dialogs itself: `add_panel_action` puts an action into the inbox,
where the processor applies it through the handlers like any update. Its own writes are the
login counters (the same rows /operator uses) and the search index, a derived table.
"""
from __future__ import annotations

import json
from typing import Callable, Iterable

from .rows import _MESSAGE_COLUMNS, StoredMessage
from .schema import dialect

SEARCH_BOOKMARK = "search_indexed_up_to"
PANEL_SEEN = "panel_seen:{seat}"  # when a page of the panel last asked for news for a seat the panel holds
INDEX_BATCH = 2000


class PanelRecords:
    """Reads for the panel's pages (mixed into Tx, whose `state`/`set_state` keep the bookmarks)."""
    conn: object
    state: Callable[[str], str | None]
    set_state: Callable[[str, str], None]

    def queue_rows(self) -> list[dict]:
        """Waiting dialogs, head first: dialog, customer, when queued and the customer's first words."""
        rows = self.conn.execute(
            "SELECT d.id AS dialog_id, d.queued_at, d.opened_at, c.id AS customer_id, c.first_name, c.last_name,"
            " c.username, (SELECT m.body FROM messages m WHERE m.dialog_id = d.id AND m.direction = 'in'"
            "  AND m.body IS NOT NULL ORDER BY m.id LIMIT 1) AS first_words"
            " FROM dialogs d JOIN customers c ON c.id = d.customer_id"
            " WHERE d.state = 'queued' ORDER BY d.queue_pos").fetchall()
        return [dict(r) for r in rows]

    def active_rows(self) -> list[dict]:
        """Dialogs with an operator, by seat, with their customer and last message time."""
        rows = self.conn.execute(
            "SELECT d.id AS dialog_id, d.seat, d.assigned_at, d.operator_name, c.id AS customer_id, c.first_name,"
            " c.last_name, c.username, (SELECT MAX(m.created_at) FROM messages m WHERE m.dialog_id = d.id)"
            " AS last_at FROM dialogs d JOIN customers c ON c.id = d.customer_id"
            " WHERE d.state = 'active' ORDER BY d.seat, d.assigned_at").fetchall()
        return [dict(r) for r in rows]

    def customer_dialogs(self, customer_id: int) -> list[dict]:
        """A customer's dialogs, oldest first, with their state, seat, rating and closing reason."""
        rows = self.conn.execute(
            "SELECT id, state, seat, opened_at, closed_at, close_reason, rating, operator_name FROM dialogs"
            " WHERE customer_id = ? ORDER BY id", (customer_id,)).fetchall()
        return [dict(r) for r in rows]

    def customer_messages(self, customer_id: int, limit: int = 2000) -> list[StoredMessage]:
        """A customer's whole history (the newest `limit` messages), oldest first."""
        rows = self.conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM (SELECT * FROM messages WHERE customer_id = ? ORDER BY id DESC"
            " LIMIT ?) AS recent ORDER BY id", (customer_id, limit)).fetchall()
        return [StoredMessage(**dict(r)) for r in rows]

    def search_messages(self, text: str, terms: list[str], limit: int = 100) -> list[dict]:
        """Messages holding every word of `text` in any form, newest first, with their customer's name.

        SQLite matches `terms` (the words stemmed by the caller) in the FTS5 index `index_messages` fills;
        PostgreSQL stems `text` itself with its 'russian' configuration over its own index of messages.
        """
        columns = ("SELECT m.id, m.customer_id, m.direction, m.author, m.body, m.created_at, c.first_name,"
                   " c.last_name, c.username FROM messages m JOIN customers c ON c.id = m.customer_id")
        if dialect(self.conn) == "postgresql":
            if not text.strip():
                return []
            sql = (f"{columns} WHERE to_tsvector('russian', COALESCE(m.body, '')) @@ plainto_tsquery('russian', ?)"
                   " ORDER BY m.id DESC LIMIT ?")
            rows = self.conn.execute(sql, (text, limit)).fetchall()
        else:
            if not terms:
                return []
            query = " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)
            sql = f"{columns} JOIN message_terms t ON t.rowid = m.id WHERE message_terms MATCH ? ORDER BY m.id DESC LIMIT ?"
            rows = self.conn.execute(sql, (query, limit)).fetchall()
        return [dict(r) for r in rows]

    def mark_panel_seen(self, seat: int, now: float) -> None:
        """Record that a page of the panel holding this seat is open."""
        self.set_state(PANEL_SEEN.format(seat=seat), repr(now))

    def panel_seen(self, seat: int) -> float | None:
        """When a page of the panel last asked for news for this seat; None if never."""
        value = self.state(PANEL_SEEN.format(seat=seat))
        return float(value) if value is not None else None

    def faq_events_since(self, since: float) -> list[tuple[str, float]]:
        """(kind, time) of every FAQ outcome since a time."""
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT kind, at FROM faq_events WHERE at >= ? ORDER BY at", (since,)).fetchall()]

    def still_waiting(self) -> tuple[int, int]:
        """(customers in the queue, active dialogs whose last message is the customer's)."""
        queued = self.conn.execute("SELECT COUNT(*) FROM dialogs WHERE state = 'queued'").fetchone()[0]
        unanswered = self.conn.execute(
            "SELECT COUNT(*) FROM dialogs d WHERE d.state = 'active' AND (SELECT m.direction FROM messages m"
            " WHERE m.dialog_id = d.id AND m.direction IN ('in', 'out') ORDER BY m.id DESC LIMIT 1) = 'in'"
        ).fetchone()[0]
        return queued, unanswered

    def index_messages(self, words_of: Callable[[str], Iterable[str]]) -> int:
        """Add messages written since the last call to the search index; return how many (0 on PostgreSQL,
        whose index over messages the server keeps itself)."""
        if dialect(self.conn) == "postgresql":
            return 0
        bookmark = self.state(SEARCH_BOOKMARK)
        after = int(bookmark) if bookmark is not None else 0
        rows = self.conn.execute(
            "SELECT id, body FROM messages WHERE id > ? ORDER BY id LIMIT ?", (after, INDEX_BATCH)).fetchall()
        for r in rows:
            if r["body"]:
                self.conn.execute("INSERT INTO message_terms (rowid, terms) VALUES (?, ?)",
                                  (r["id"], " ".join(words_of(r["body"]))))
        if rows:
            self.set_state(SEARCH_BOOKMARK, str(rows[-1]["id"]))
        return len(rows)

    def add_panel_action(self, action: dict, now: float) -> None:
        """Hand an action from the panel to the bot's processor through the inbox."""
        self.conn.execute(
            "INSERT INTO inbox (update_id, kind, payload, received_at) VALUES (NULL, 'panel_action', ?, ?)",
            (json.dumps(action, ensure_ascii=False), now))

    def text_history(self, since: float) -> list[tuple[int, str, str]]:
        """(dialog, direction, text) of dialogs' messages since a time, in order: what the gaps finder reads."""
        return select_text_history(self.conn, since)


def select_text_history(conn, since: float) -> list[tuple[int, str, str]]:
    """(dialog, direction, text) of dialogs' text messages (customer, operator, bot) since a time, in order."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT dialog_id, direction, COALESCE(body, '') FROM messages WHERE dialog_id IS NOT NULL"
        " AND direction IN ('in', 'out', 'bot') AND created_at >= ? ORDER BY dialog_id, id", (since,)).fetchall()]
