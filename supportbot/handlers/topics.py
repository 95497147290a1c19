"""Topics mode: each dialog a topic of its own in its operator's private chat.

A topic is opened when a dialog reaches a seat, renamed and closed when the dialog ends or moves,
and opened again by the sender if the operator deleted it (then `topic_recreated` shows what was
there). Topic ids live in the database with the dialog, so a restart changes nothing.
"""
from __future__ import annotations

from .. import core, texts
from ..core import CreateTopic, EditTopic, IncomingMessage, TopicRecreated
from ..storage import Customer, Dialog
from . import history
from .context import Context

TOPIC_NAME_LIMIT = 128
RECREATED_HISTORY = 20


def topic_name(customer: Customer, mark: str = "") -> str:
    """«#3 Анна @anna», with a mark in front for a closed one («✅ #3 Анна»)."""
    name = " ".join(p for p in (customer.first_name, customer.last_name) if p) or "без имени"
    handle = f" @{customer.username}" if customer.username else ""
    return f"{mark}#{customer.id} {name}{handle}"[:TOPIC_NAME_LIMIT]


def open_topic(ctx: Context, seat: int, customer: Customer, dialog: Dialog) -> None:
    """Open a topic for a dialog in its operator's chat; what follows about the dialog goes into it."""
    chat = ctx.seats.chat_of(seat)
    if not ctx.topics or chat is None:  # a seat held by the web panel has no chat to open topics in
        return
    name = topic_name(customer)
    ctx.tx.name_topic(dialog.id, chat, name)
    ctx.send(CreateTopic(chat, dialog.id, name))


def close_topic(ctx: Context, seat: int, customer: Customer, dialog: Dialog, mark: str) -> None:
    """Rename a dialog's topic with a mark and close it (the dialog ended or moved on)."""
    chat = ctx.seats.chat_of(seat)
    if not ctx.topics or ctx.tx.topic_of(dialog.id, chat) is None:
        return
    ctx.send(EditTopic(chat, dialog.id, topic_name(customer, mark), close=True))


def topic_target(ctx: Context, seat: int, msg: IncomingMessage) -> core.TopicTarget | None:
    """Whose topic an operator wrote in; None for General (or no topic)."""
    if msg.thread_id is None:
        return None
    dialog_id = ctx.tx.dialog_of_topic(msg.chat_id, msg.thread_id)
    dialog = ctx.tx.dialog(dialog_id) if dialog_id else None
    if dialog is None:
        return None  # a topic the bot did not open is General as far as customers go
    open_here = dialog.state is core.DialogState.ACTIVE and dialog.seat == seat
    return core.TopicTarget(dialog_id=dialog.id if open_here else None, mine=open_here)


def topic_customer(ctx: Context, msg: IncomingMessage) -> Customer | None:
    """The customer of the topic a command was written in (open or not), for commands that act on one customer."""
    if not ctx.topics or msg.thread_id is None:
        return None
    dialog_id = ctx.tx.dialog_of_topic(msg.chat_id, msg.thread_id)
    dialog = ctx.tx.dialog(dialog_id) if dialog_id else None
    return ctx.tx.customer(dialog.customer_id) if dialog else None


def recreated(ctx: Context, event: TopicRecreated) -> None:
    """A dialog's topic was gone and the sender opened a new one: show the dialog's recent messages there."""
    dialog = ctx.tx.dialog(event.dialog_id)
    if dialog is None or dialog.state is not core.DialogState.ACTIVE or dialog.seat not in ctx.seats.online:
        return
    customer = ctx.tx.customer(dialog.customer_id)
    ctx.notify(dialog.seat, customer, texts.TOPIC_RECREATED.format(who=customer.label), dialog_id=dialog.id)
    history.send_history(ctx, ctx.seats.chat_of(dialog.seat), customer, RECREATED_HISTORY, topic_of=dialog.id)


def service_message(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    """An operator made a topic by hand (or closed, reopened, renamed one): explain, relay nothing."""
    if msg.content_type == "topic_created":
        ctx.say(msg.chat_id, texts.TOPIC_BY_HAND, topic_of=None)


def mode_at_start(ctx: Context) -> None:
    """The owner switched topics on or off: open dialogs carry on in the mode found now, operators are told."""
    mode = "on" if ctx.topics else "off"
    before = ctx.tx.state("topics")
    ctx.tx.set_state("topics", mode)
    if before is None or before == mode:
        return
    for seat in ctx.seats.online:
        ctx.say(ctx.seats.chat_of(seat), texts.TOPICS_NOW_ON if ctx.topics else texts.TOPICS_NOW_OFF)
        if ctx.topics:
            for dialog in ctx.tx.seat_dialogs(seat):
                customer = ctx.tx.customer(dialog.customer_id)
                open_topic(ctx, seat, customer, dialog)
                history.send_history(ctx, ctx.seats.chat_of(seat), customer, RECREATED_HISTORY, topic_of=dialog.id)
