"""What an operator does in the web panel, applied by the processor like any update.

The panel writes an action into the inbox (kind `panel_action`); this module applies it through
the same functions the Telegram commands use, so the rules stay in one place: a reply goes out
through the outbox signed with the seat's operator, and the seat's Telegram chat sees it too.
An action of a seat that is not on line in Telegram does nothing (the panel says so beforehand).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .. import texts
from ..core import DialogState
from ..storage import Customer, Dialog
from . import commands, dialogs, operators, relay
from .context import Context

log = logging.getLogger(__name__)

KINDS = ("take", "close", "transfer", "reply", "canned", "note", "login_attack")


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
        return cls(kind=payload["kind"], seat=int(payload.get("seat", 0)), customer_id=int(payload.get("customer_id", 0)),
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
    customer = ctx.tx.customer(action.customer_id)
    if seat not in ctx.seats.online or customer is None:
        log.info("panel action %s of seat %s ignored: the seat is not on line", action.kind, seat)
        return
    chat = ctx.seats.chat_of(seat)
    if action.kind == "note":
        _note(ctx, seat, customer, action.text)
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
