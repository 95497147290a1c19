"""What an operator does in the web panel, applied by the processor like any update.

The panel writes an action into the inbox (kind `panel_action`); this module applies it through
the same functions the Telegram commands use, so the rules stay in one place: a reply goes out
through the outbox signed with the seat's operator, and the seat's Telegram chat sees it too.

A seat nobody holds in Telegram can go on line from the panel ("online"): it is then held by the
panel, with no Telegram chat (what the bot would tell that chat is not sent: the panel shows the
same live), until the panel user leaves the line or logs out, or an operator logs in to it with
/operator. An action of a seat that is on line nowhere does nothing (the panel says so beforehand).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .. import core, texts
from ..core import DialogState, Person
from ..storage import Customer, Dialog
from . import commands, dialogs, operators, relay
from .context import Context

log = logging.getLogger(__name__)

CUSTOMER_KINDS = ("take", "close", "transfer", "reply", "canned", "note", "ban", "unban")  # what a panel user does
SEAT_KINDS = ("online", "offline")  # going on line from the panel, and leaving it
KINDS = CUSTOMER_KINDS + SEAT_KINDS + ("login_attack",)  # the last one comes from the panel's login, never a form


@dataclass(frozen=True)
class PanelAction:
    """One action from the panel: who (seat), on which customer, and its words or target."""
    kind: str
    seat: int
    customer_id: int
    text: str = ""
    target_seat: int | None = None
    entry: int | None = None

    @classmethod
    def from_payload(cls, payload: dict) -> "PanelAction":
        if payload.get("kind") not in KINDS:
            raise ValueError(f"unknown panel action {payload.get('kind')!r}")
        return cls(kind=payload["kind"], seat=int(payload.get("seat", 0)),
                   customer_id=int(payload.get("customer_id", 0)),
                   text=str(payload.get("text") or ""), target_seat=_int_or_none(payload.get("target_seat")),
                   entry=_int_or_none(payload.get("entry")))


def _int_or_none(value) -> int | None:
    return None if value in (None, "") else int(value)


def apply(ctx: Context, action: PanelAction) -> None:
    """Apply a panel action for its seat, through the same functions as the seat's Telegram commands."""
    if action.kind == "login_attack":  # wrong PINs in the panel reached the overall limit
        operators.tell_login_attack(ctx)
        return
    seat = action.seat
    if action.kind == "online":
        _go_on_line(ctx, seat)
        return
    if action.kind == "offline":
        if ctx.seats.held_by_panel(seat):
            dialogs.release_seat(ctx, seat)
        return
    customer = ctx.tx.customer(action.customer_id)
    if seat not in ctx.seats.online or customer is None:
        log.info("panel action %s of seat %s ignored: the seat is not on line", action.kind, seat)
        return
    chat = ctx.seats.chat_of(seat)
    if action.kind == "note":
        _note(ctx, seat, customer, action.text)
        return
    if action.kind in ("ban", "unban"):
        commands.set_ban(ctx, seat, customer, banned=action.kind == "ban")
        return
    dialog = ctx.tx.open_dialog(customer.id)
    if dialog is None:
        ctx.say(chat, texts.NO_OPEN_DIALOG.format(who=customer.label))
        return
    if action.kind == "take":
        refusal = commands.take(ctx, seat, customer, dialog)
        if refusal:
            ctx.say(chat, refusal)
        return
    mine = dialog.state is DialogState.ACTIVE and dialog.seat == seat
    if action.kind == "close" and (mine or dialog.state is DialogState.QUEUED):
        commands.close_by_operator(ctx, seat, customer, dialog)
    elif not mine:
        ctx.say(chat, texts.PANEL_NOT_SENT.format(who=customer.label))
    elif action.kind == "transfer":
        _transfer(ctx, seat, customer, dialog, action.target_seat)
    elif action.kind in ("reply", "canned"):
        text = action.text.strip() if action.kind == "reply" else _canned_answer(ctx, action.entry)
        if text:
            _reply(ctx, seat, customer, dialog, text)


def panel_user_id(seat: int) -> int:
    """The user id a seat held by the panel is recorded with: negative, so no Telegram user ever has it."""
    return -seat


def _go_on_line(ctx: Context, seat: int) -> None:
    """Put a seat nobody holds on line for the panel, signed with the name of its last Telegram operator."""
    if seat in ctx.seats.online or not 1 <= seat <= len(ctx.config.pins):
        return
    name = next((row.first_name for row in ctx.tx.seats() if row.seat == seat and row.first_name), "")
    ctx.tx.seat_login(seat, Person(panel_user_id(seat), name), None, ctx.now,
                      *core.pin_fingerprint(ctx.config.pins[seat - 1]))
    ctx.tx.mark_panel_seen(seat, ctx.now)
    ctx.seats.load(ctx.tx.seats())
    dialogs.fill_seat(ctx, seat)


def leave_abandoned_seats(ctx: Context) -> None:
    """Take off line the seats held by a panel that nobody has open any more; their customers go on."""
    for seat in list(ctx.seats.online):
        if ctx.seats.held_by_panel(seat) and core.panel_seat_away(ctx.tx.panel_seen(seat), ctx.now):
            log.info("seat %s, on line through the web panel, left: no panel page open for %s s", seat,
                     core.PANEL_AWAY_SECONDS)
            dialogs.release_seat(ctx, seat)


def _reply(ctx: Context, seat: int, customer: Customer, dialog: Dialog, text: str) -> None:
    """Send the words to the customer as the operator's message and show them in the seat's chat."""
    relay.send_faq_answer(ctx, seat, ctx.seats.online[seat].tg_user_id, dialog, text)
    ctx.notify(seat, customer, texts.PANEL_REPLY_ECHO.format(who=customer.label, text=text), dialog_id=dialog.id)


def _canned_answer(ctx: Context, number: int | None) -> str:
    entry = ctx.faq.find(str(number)) if number is not None else None
    return entry.answer if entry is not None else ""


def _transfer(ctx: Context, seat: int, customer: Customer, dialog: Dialog, target: int | None) -> None:
    chat = ctx.seats.chat_of(seat)
    if target not in ctx.seats.online:
        ctx.say(chat, texts.TRANSFER_NO_SEAT.format(seat=target if target is not None else "—"))
    elif target == seat:
        ctx.say(chat, texts.TRANSFER_SELF)
    elif len(ctx.tx.seat_dialogs(target)) >= ctx.config.operator_chat_limit:
        ctx.say(chat, texts.TRANSFER_FULL.format(name=ctx.seats.name_of(target)))
    else:
        dialogs.transfer(ctx, seat, customer, dialog, target)


def _note(ctx: Context, seat: int, customer: Customer, note: str) -> None:
    note = note.strip()
    if not note:
        return
    dialog = ctx.tx.open_dialog(customer.id)
    row = ctx.seats.online[seat]
    ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id if dialog else None, direction="note",
        author=ctx.seats.name_of(seat), author_user_id=row.tg_user_id, content_type="text", body=note,
        file_id=None, tg_chat_id=None, tg_message_id=None, relayed=True, now=ctx.now,
    )
    ctx.notify(seat, customer, texts.PANEL_NOTE_ECHO.format(who=customer.label, text=note),
               dialog_id=dialog.id if dialog else None)
