"""The records the storage hands out: frozen rows, no behaviour beyond naming."""
from __future__ import annotations

from dataclasses import dataclass

from .. import core
from ..core import DialogState

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
    acked_dialog_id: int | None = None


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



@dataclass(frozen=True)
class HeldMessage:
    """An operator's message the bot did not send, waiting for them to say to whom."""
    id: int
    seat: int
    tg_user_id: int
    author: str
    content_type: str
    body: str | None
    file_id: str | None
    tg_chat_id: int
    tg_message_id: int
    media_group_id: str | None
    status: str
