"""What a handler is given: the transaction, settings, who holds which seat, the FAQ, and the time.

`notify` is the one way to tell an operator something about a customer: it tags the outbox
row with the customer, which is what lets the operator reply to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .. import core
from ..config import Config
from ..core import SendText
from ..storage import Customer, SeatRow, Tx


class Faq(Protocol):
    entries: tuple

    def match(self, text: str): ...

    def classify(self, text: str): ...

    def find(self, query: str): ...


class SeatRegistry:
    """Who holds which seat right now: the in-memory mirror of the seats table."""

    def __init__(self, pins: tuple[str, ...]):
        self.pins = pins
        self.online: dict[int, SeatRow] = {}

    def load(self, rows: list[SeatRow]) -> None:
        """Rebuild from the database's seat rows."""
        self.online = {r.seat: r for r in rows if r.tg_user_id is not None and r.seat <= len(self.pins)}

    def seat_of_user(self, user_id: int) -> int | None:
        return next((seat for seat, row in self.online.items() if row.tg_user_id == user_id), None)

    def seat_of_chat(self, chat_id: int) -> int | None:
        return next((seat for seat, row in self.online.items() if row.chat_id == chat_id), None)

    def seat_for_pin(self, pin: str) -> int | None:
        return self.pins.index(pin) + 1 if pin in self.pins else None

    def seat_by_name(self, name: str) -> int | None:
        lowered = name.lower()
        return next((seat for seat, row in self.online.items() if (row.first_name or "").lower() == lowered), None)

    def chat_of(self, seat: int) -> int | None:
        """The seat's Telegram chat; None for a seat held by the web panel."""
        return self.online[seat].chat_id

    def held_by_panel(self, seat: int) -> bool:
        """Tell whether a seat is on line through the web panel (no Telegram chat)."""
        return seat in self.online and self.online[seat].chat_id is None

    def name_of(self, seat: int) -> str:
        return self.online[seat].first_name or f"линия {seat}"


@dataclass
class Context:
    """What a handler may touch: the transaction, settings, seats, FAQ, and the time."""
    tx: Tx
    config: Config
    seats: SeatRegistry
    faq: Faq
    now: float
    topics: bool = False  # each dialog a topic in its operator's chat (Telegram's topics in private chats)

    def send(self, action: core.Action, message_id: int | None = None, customer_id: int | None = None) -> int | None:
        """Queue an action for Telegram; one for a seat held by the web panel (no chat) is not sent."""
        if hasattr(action, "chat_id") and action.chat_id is None:
            return None
        return self.tx.enqueue(action, self.now, message_id, customer_id)

    def say(self, chat_id: int, text: str, buttons: core.Buttons = (), customer_id: int | None = None,
            topic_of: int | None = None) -> None:
        """Send text, split at Telegram's limit; buttons go under the last piece."""
        pieces = core.split_text(text)
        for number, piece in enumerate(pieces, start=1):
            self.send(SendText(chat_id, piece, buttons if number == len(pieces) else (), topic_of=topic_of),
                      customer_id=customer_id)

    def notify(self, seat: int, customer: Customer, text: str, buttons: core.Buttons = (),
               dialog_id: int | None = None) -> None:
        """Tell a seat's operator something about a customer; a reply to it reaches that customer.

        With topics, a notice about a dialog goes into that dialog's topic.
        """
        self.say(self.seats.chat_of(seat), text, buttons, customer_id=customer.id, topic_of=self.topic(dialog_id))

    def topic(self, dialog_id: int | None) -> int | None:
        """The `topic_of` for actions about a dialog: the dialog in topics mode, nothing in the classic one."""
        return dialog_id if self.topics else None

    def seat_view(self, seat: int) -> core.SeatView:
        """The seat as routing decisions see it."""
        current = self.tx.current_dialog(seat)
        return core.SeatView(current=current.id if current else None, acknowledged=self.tx.acknowledged(seat),
                             open_dialogs=tuple(d.id for d in self.tx.seat_dialogs(seat)))

    def local(self, timestamp: float) -> datetime:
        """A stored UTC time as the shop's local time."""
        if self.config.timezone is not None:
            return datetime.fromtimestamp(timestamp, self.config.timezone)
        return datetime.fromtimestamp(timestamp).astimezone()

    @property
    def shop_open(self) -> bool:
        return self.config.working_hours.is_open(self.local(self.now))
