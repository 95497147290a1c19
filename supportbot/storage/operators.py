"""Seats and the operators in them, inside a transaction: logins, the acknowledged current dialog, held messages."""
from __future__ import annotations

import sqlite3

from .. import core
from ..core import Person
from .rows import Dialog, HeldMessage, SeatRow


class SeatRecords:
    conn: sqlite3.Connection

    # --- seats ------------------------------------------------------------------------

    def seats(self) -> list[SeatRow]:
        rows = self.conn.execute(
            "SELECT seat, tg_user_id, chat_id, first_name, username, current_dialog_id, last_assigned_at,"
            " last_seen_at, idle_asked_at, acked_dialog_id FROM seats ORDER BY seat"
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
            "UPDATE seats SET tg_user_id = NULL, chat_id = NULL, current_dialog_id = NULL, acked_dialog_id = NULL"
            " WHERE seat = ?", (seat,)
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

    # --- seats' activity ------------------------------------------------------------------------

    def seat_seen(self, seat: int, now: float) -> None:
        self.conn.execute("UPDATE seats SET last_seen_at = ? WHERE seat = ?", (now, seat))

    def set_idle_asked(self, seat: int, now: float | None) -> None:
        self.conn.execute("UPDATE seats SET idle_asked_at = ? WHERE seat = ?", (now, seat))


class OperatorRecords:
    """What operators did that routing and logins must remember."""
    conn: sqlite3.Connection

    def acknowledged(self, seat: int) -> int | None:
        """The dialog that was current right after the seat's operator's previous action."""
        row = self.conn.execute("SELECT acked_dialog_id FROM seats WHERE seat = ?", (seat,)).fetchone()
        return row[0] if row else None

    def set_focus(self, seat: int, current: int | None, acknowledged: int | None) -> None:
        """Set the seat's current dialog and the one its operator is taken to be writing to."""
        self.conn.execute("UPDATE seats SET current_dialog_id = ?, acked_dialog_id = ? WHERE seat = ?",
                          (current, acknowledged, seat))

    def acknowledge_current(self, seat: int) -> None:
        """Remember the seat's current dialog as the one its operator has seen (after each of their actions)."""
        self.conn.execute("UPDATE seats SET acked_dialog_id = current_dialog_id WHERE seat = ?", (seat,))

    def hold_message(self, *, seat: int, tg_user_id: int, author: str, content_type: str, body: str | None,
                     file_id: str | None, tg_chat_id: int, tg_message_id: int, media_group_id: str | None,
                     now: float) -> int:
        """Keep an operator's message that was not sent; return its id."""
        return self.conn.execute(
            "INSERT INTO held_messages (seat, tg_user_id, author, content_type, body, file_id, tg_chat_id,"
            " tg_message_id, media_group_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (seat, tg_user_id, author, content_type, body, file_id, tg_chat_id, tg_message_id, media_group_id, now),
        ).fetchone()[0]

    def held_group(self, held_id: int) -> list[HeldMessage]:
        """A held message and, for an album, its other held parts, in order; empty once sent or dropped."""
        first = self.conn.execute("SELECT * FROM held_messages WHERE id = ? AND status = 'held'", (held_id,)).fetchone()
        if first is None:
            return []
        if first["media_group_id"] is None:
            rows = [first]
        else:
            rows = self.conn.execute(
                "SELECT * FROM held_messages WHERE seat = ? AND media_group_id = ? AND status = 'held' ORDER BY id",
                (first["seat"], first["media_group_id"]),
            ).fetchall()
        return [HeldMessage(**{k: r[k] for k in HeldMessage.__dataclass_fields__}) for r in rows]

    def held_album_part(self, seat: int, media_group_id: str) -> bool:
        """Tell whether another part of this album is already held (asked about once)."""
        return self.conn.execute(
            "SELECT 1 FROM held_messages WHERE seat = ? AND media_group_id = ? AND status = 'held'",
            (seat, media_group_id),
        ).fetchone() is not None

    def settle_held(self, ids: list[int], status: str) -> None:
        self.conn.executemany("UPDATE held_messages SET status = ? WHERE id = ?", [(status, i) for i in ids])

    def count_login_failure(self, user_id: int, now: float) -> None:
        self.conn.execute("INSERT INTO login_attempts (at, tg_user_id) VALUES (?, ?)", (now, user_id))
        self.conn.execute("DELETE FROM login_attempts WHERE at < ?", (now - core.GLOBAL_WINDOW_SECONDS,))

    def login_failures_since(self, since: float) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM login_attempts WHERE at >= ?", (since,)).fetchone()[0]

    def remember_operator(self, user_id: int) -> None:
        self.conn.execute("INSERT INTO operator_accounts (tg_user_id) VALUES (?) ON CONFLICT DO NOTHING", (user_id,))

    def held_a_seat(self, user_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM operator_accounts WHERE tg_user_id = ?", (user_id,)).fetchone() \
            is not None

    # --- topics (one per dialog and operator's chat) -----------------------------------

    def name_topic(self, dialog_id: int, chat_id: int, name: str) -> None:
        """A topic is being opened for a dialog in this chat: remember its name; its thread id comes when sent."""
        self.conn.execute(
            "INSERT INTO dialog_topics (dialog_id, chat_id, thread_id, name) VALUES (?, ?, NULL, ?)"
            " ON CONFLICT (dialog_id, chat_id) DO UPDATE SET thread_id = NULL, name = excluded.name",
            (dialog_id, chat_id, name))

    def dialog_of_topic(self, chat_id: int, thread_id: int) -> int | None:
        """The dialog whose topic this is (open or closed), if any."""
        row = self.conn.execute("SELECT dialog_id FROM dialog_topics WHERE chat_id = ? AND thread_id = ?",
                                (chat_id, thread_id)).fetchone()
        return row[0] if row else None

    def topic_of(self, dialog_id: int, chat_id: int) -> tuple[int | None, str] | None:
        """(thread id, or None while not created yet; name) of a dialog's topic in a chat."""
        row = self.conn.execute("SELECT thread_id, name FROM dialog_topics WHERE dialog_id = ? AND chat_id = ?",
                                (dialog_id, chat_id)).fetchone()
        return None if row is None else (row[0], row[1])

    def state(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM bot_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO bot_state (key, value) VALUES (?, ?)"
                          " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
