"""Handlers: load what a decision needs, ask the core, apply the answer. No policy lives here.

They do no I/O of their own: they read and write through the Tx they are given (one
transaction per batch, a savepoint per event) and queue what must be sent with `ctx.send`.
They import neither telebot nor sqlite3.

Split by audience: `customers` (a customer writes, blocks), `operators` (logins, where an
operator's words go), `commands` (operators' commands), `buttons` (the callback registry),
`relay` (moving messages between the two, edits, flood holds), `dialogs` (assigning, ending,
the current dialog), `history` (what operators read), `duties` (the timed tick).
"""
from __future__ import annotations

import logging

from .. import core, texts
from ..core import (ButtonPress, DeliveryFailure, IncomingMessage, LeaveChat, MembershipChange, SetCommands,
                    TopicRecreated)
from . import customers, dialogs, operators, panel, presses, relay, topics  # noqa: F401 - presses registers buttons
from .buttons import handle_button
from .context import Context, Faq, SeatRegistry
from .duties import tick

__all__ = ["Context", "Faq", "SeatRegistry", "handle_event", "startup", "tick", "tell_operators",
           "CUSTOMER_COMMANDS", "OPERATOR_COMMANDS"]

log = logging.getLogger(__name__)

CUSTOMER_COMMANDS = (("start", "Начать и частые вопросы"), ("help", "Помощь"))
OPERATOR_COMMANDS = operators.OPERATOR_COMMANDS


def handle_event(ctx: Context, event: core.Event) -> None:
    """Apply one event; after anything an operator did, remember what is current for them now."""
    if isinstance(event, IncomingMessage):
        handle_message(ctx, event)
    elif isinstance(event, ButtonPress):
        handle_button(ctx, event)
    elif isinstance(event, MembershipChange):
        customers.handle_membership(ctx, event)
    elif isinstance(event, DeliveryFailure):
        customers.handle_delivery_failure(ctx, event)
    elif isinstance(event, TopicRecreated):
        topics.recreated(ctx, event)
    elif isinstance(event, panel.PanelAction):
        panel.apply(ctx, event)
    sender = getattr(event, "sender", None)
    seat = ctx.seats.seat_of_user(sender.user_id) if sender is not None else None
    if seat is not None:
        ctx.tx.acknowledge_current(seat)


def handle_message(ctx: Context, msg: IncomingMessage) -> None:
    """Route a message: a login (typos included), an edit, the operator side or the customer side."""
    if msg.chat_type != "private":
        ctx.send(LeaveChat(msg.chat_id))  # the bot serves private chats only
        return
    if msg.sender is None:
        return
    if msg.edited:
        relay.handle_edit(ctx, msg)
        return
    pin = core.login_pin(msg.text) if msg.content_type == "text" else None
    if pin is None and msg.command is not None and msg.command.startswith("operator"):
        pin = msg.args.strip() or msg.command.removeprefix("operator") or None
        if pin is None and msg.command != "operator":
            pin = msg.command  # never relay or store anything that might hold a PIN
    if pin is not None or msg.command == "operator":
        # A PIN in any shape is deleted, counted and never relayed or stored.
        operators.operator_login(ctx, msg, pin)
        return
    seat = ctx.seats.seat_of_user(msg.sender.user_id)
    if seat is not None:
        ctx.tx.seat_seen(seat, ctx.now)
        operators.operator_message(ctx, seat, msg)
    else:
        customers.customer_message(ctx, msg)


def startup(ctx: Context) -> None:
    """Duties at start: log out seats whose PIN was changed or removed; give customers their command menu."""
    pins = ctx.config.pins
    for row in ctx.tx.seats():
        if row.tg_user_id is None:
            continue
        pin = pins[row.seat - 1] if row.seat <= len(pins) else None
        salt, digest = ctx.tx.seat_pin(row.seat)
        if pin is not None and digest is None:  # logged in before seats remembered their PIN
            ctx.tx.set_seat_pin(row.seat, *core.pin_fingerprint(pin))
        elif not core.pin_still_valid(pin, salt, digest):
            seat_dialogs = ctx.tx.seat_dialogs(row.seat)
            ctx.tx.seat_logout(row.seat)
            dialogs.requeue_and_tell(ctx, seat_dialogs)
            ctx.say(row.chat_id, texts.PIN_CHANGED)
            ctx.send(SetCommands(row.chat_id))
    ctx.seats.load(ctx.tx.seats())
    topics.mode_at_start(ctx)
    ctx.send(SetCommands(0, CUSTOMER_COMMANDS, scope="all_private_chats"))


def tell_operators(ctx: Context, text: str) -> None:
    """Tell every online operator something (a broken FAQ file, for one)."""
    for seat in ctx.seats.online:
        ctx.say(ctx.seats.chat_of(seat), text)
