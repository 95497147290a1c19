"""What comes in (events the Telegram adapter produces) and what goes out (actions the sender performs).

Plain frozen dataclasses: no telebot type ever reaches the rest of the bot.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# --- people and events (what the Telegram adapter produces) -----------------

@dataclass(frozen=True)
class Person:
    user_id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class IncomingMessage:
    chat_id: int
    chat_type: str
    message_id: int
    sender: Person | None
    date: int
    content_type: str
    text: str | None = None  # text, or the caption of a media message
    file_id: str | None = None
    command: str | None = None  # "next" for "/next@shop_bot 3"
    args: str = ""
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    edited: bool = False
    thread_id: int | None = None  # the topic it was written in (topics in private chats), None for General


@dataclass(frozen=True)
class MembershipChange:
    chat_id: int
    chat_type: str
    user: Person | None
    status: str  # member, kicked, left, administrator …


@dataclass(frozen=True)
class DeliveryFailure:
    """The sender could not deliver an outbox row; `blocked` means 403."""
    chat_id: int
    outbox_id: int
    blocked: bool
    error: str


@dataclass(frozen=True)
class ButtonPress:
    """An inline button pressed under one of the bot's messages."""
    callback_id: str
    sender: Person | None
    chat_id: int
    message_id: int | None
    data: str


@dataclass(frozen=True)
class TopicRecreated:
    """The sender found a dialog's topic gone and opened a new one: what was there must be shown again."""
    chat_id: int
    dialog_id: int


Event = IncomingMessage | MembershipChange | DeliveryFailure | ButtonPress | TopicRecreated


# --- what the bot does (stored in the outbox, performed by the sender) ------

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


@dataclass(frozen=True)
class SendText:
    chat_id: int
    text: str
    buttons: Buttons = ()
    reply_to_outbox: int | None = None  # answer under the message that outbox row produced, if it still exists
    topic_of: int | None = None  # a dialog id: send into that dialog's topic in this chat (topics mode)


@dataclass(frozen=True)
class CopyMessage:
    chat_id: int
    from_chat_id: int
    message_id: int
    caption: str | None = None
    content_type: str = ""  # for a readable stand-in when the copy is refused
    topic_of: int | None = None


@dataclass(frozen=True)
class CopyAlbum:
    chat_id: int
    from_chat_id: int
    message_ids: tuple[int, ...]
    topic_of: int | None = None


@dataclass(frozen=True)
class EditMessage:
    """Edit the text (or caption) of the message an earlier outbox row produced."""
    chat_id: int
    target_outbox: int
    text: str
    caption: bool = False


@dataclass(frozen=True)
class RemoveButtons:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class AnswerButton:
    chat_id: int
    callback_id: str
    text: str = ""


@dataclass(frozen=True)
class DeleteMessage:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class SetCommands:
    chat_id: int  # 0 with scope "all_private_chats": the menu every private chat sees
    commands: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # empty: remove the menu
    scope: str = "chat"


@dataclass(frozen=True)
class LeaveChat:
    chat_id: int


@dataclass(frozen=True)
class CreateTopic:
    """Open a topic for a dialog in an operator's private chat (topics mode)."""
    chat_id: int
    dialog_id: int
    name: str


@dataclass(frozen=True)
class EditTopic:
    """Rename a dialog's topic, and close it when the dialog ended."""
    chat_id: int
    dialog_id: int
    name: str
    close: bool = False


Action = (SendText | CopyMessage | CopyAlbum | EditMessage | RemoveButtons | AnswerButton | DeleteMessage
          | SetCommands | LeaveChat | CreateTopic | EditTopic)

