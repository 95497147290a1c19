"""The sender's backlog: the pending outbox rows it holds, a queue per chat in id order.

The sender's scheduler owns one Backlog and touches it under its lock. Rows arrive in id order,
except rows another sender held until it went away (PostgreSQL): those go to their place by id,
never in front of a head that is being sent. A chat's next call is its head row, or, when more
rows wait than the chat's credit lets through now, the head customer's plain texts combined into
one message (pacing.combine); rows whose combined message was refused go one by one.
"""
from __future__ import annotations

from collections import deque

from . import pacing
from .storage import OutboxRow


class Backlog:
    """Pending rows per chat, what of them may be combined, and the highest row id taken so far."""

    def __init__(self) -> None:
        self.chats: dict[int, deque[OutboxRow]] = {}
        self.relays: dict[int, pacing.Relay] = {}  # rows that relay a customer's text as written
        self.alone: set[int] = set()  # rows whose combined message was refused: they go one by one
        self.last_loaded = 0

    def add(self, rows: list[OutboxRow], texts: dict[int, tuple[int, str]], busy: set[int]) -> None:
        """Take new rows (with the customer's text of those that relay one: id -> (customer, text));
        `busy` chats have their head in flight."""
        for row in rows:
            waiting = self.chats.setdefault(row.chat_id, deque())
            if waiting and waiting[-1].id > row.id:  # freed by another sender: older than what waits here
                place = sum(1 for r in waiting if r.id < row.id)
                waiting.insert(max(place, 1 if row.chat_id in busy else 0), row)
            else:
                waiting.append(row)
            self.last_loaded = max(self.last_loaded, row.id)
            if row.id in texts:
                relay = pacing.relay_of(row, *texts[row.id])
                if relay is not None:
                    self.relays[row.id] = relay

    def chats_in_order(self) -> list[int]:
        """Chats with rows waiting, the one whose head row is oldest first."""
        return sorted(self.chats, key=lambda chat: self.chats[chat][0].id)

    def next_call(self, chat_id: int, credit: float) -> tuple[list[OutboxRow], str | None]:
        """The rows the chat's next call delivers, and their combined text (None: the head row as it is)."""
        rows = self.chats[chat_id]
        head = rows[0]
        if head.id not in self.relays or head.id in self.alone or len(rows) <= int(credit):
            return [head], None
        taken, text = pacing.combine(list(rows), self.relays)
        return (taken, text) if len(taken) > 1 else ([head], None)

    def one_by_one(self, rows: tuple[OutboxRow, ...]) -> None:
        """Send these rows one at a time from now on (their combined message was refused)."""
        self.alone.update(row.id for row in rows)

    def remove(self, row: OutboxRow) -> None:
        """Forget a row that was sent or set aside."""
        waiting = self.chats.get(row.chat_id)
        if waiting:
            if waiting[0].id == row.id:
                waiting.popleft()
            else:  # a row combined into the head's message
                for index, other in enumerate(waiting):
                    if other.id == row.id:
                        del waiting[index]
                        break
            if not waiting:
                del self.chats[row.chat_id]
        self.relays.pop(row.id, None)
        self.alone.discard(row.id)

    def count_attempt(self, row: OutboxRow) -> None:
        """The head row failed and will be tried again: count the attempt."""
        self.chats[row.chat_id][0] = OutboxRow(row.id, row.chat_id, row.kind, row.payload, row.message_id,
                                               row.attempts + 1)

    def drop_chat(self, chat_id: int) -> list[OutboxRow]:
        """Forget every row of a chat (it blocked the bot); return them."""
        dropped = list(self.chats.pop(chat_id, ()))
        for row in dropped:
            self.relays.pop(row.id, None)
            self.alone.discard(row.id)
        return dropped
