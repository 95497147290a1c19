"""Inline buttons: one registry that both builds callback data and reads it back.

A button carries a verb and numbers ("pick:12"); every number is checked again when pressed,
so an old button can at worst be stale, never wrong.
"""
from __future__ import annotations

import zlib
from typing import Callable

from .. import core, texts
from ..core import AnswerButton, ButtonPress
from .context import Context
from .history import short

Handler = Callable[[Context, "int | None", ButtonPress, tuple[int, ...]], str]
_VERBS: dict[str, tuple[int, Handler]] = {}


def verb(name: str, arity: int):
    """Register a button handler for `name` taking `arity` numbers."""
    def register(handler: Handler) -> Handler:
        _VERBS[name] = (arity, handler)
        return handler
    return register


def data(name: str, *numbers: int) -> str:
    """Build callback data for a registered verb."""
    arity, _ = _VERBS[name]
    assert len(numbers) == arity, (name, numbers)
    return ":".join([name, *map(str, numbers)])


def handle_button(ctx: Context, press: ButtonPress) -> None:
    """Answer an inline button; every id in it is checked again now."""
    parsed = core.parse_button(press.data)
    seat = ctx.seats.seat_of_user(press.sender.user_id) if press.sender else None
    if seat is not None:
        ctx.tx.seat_seen(seat, ctx.now)
    found = _VERBS.get(parsed[0]) if parsed else None
    if found is None or len(parsed[1]) != found[0]:
        answer = texts.BUTTON_STALE
    else:
        answer = found[1](ctx, seat, press, parsed[1])
    ctx.send(AnswerButton(press.chat_id, press.callback_id, answer or ""))


# --- building ---------------------------------------------------------------------------

def dialog_buttons(customer_id: int, dialog_id: int, *, take: str | None) -> core.Buttons:
    """Buttons under a notice: [take or make current], history, close; they carry the dialog's id."""
    row = [(texts.BUTTON_HISTORY, data("hist", customer_id)), (texts.BUTTON_CLOSE, data("end", dialog_id))]
    if take:
        row.insert(0, (take, data("pick", dialog_id)))
    return (tuple(row),)


def rating_buttons(dialog_id: int) -> core.Buttons:
    return (tuple((str(n), data("rate", dialog_id, n)) for n in range(1, 6)),)


def faq_buttons(ctx: Context, limit: int) -> core.Buttons:
    """One button per leading FAQ question (the owner orders the file by importance)."""
    return tuple(((short(entry.questions[0], 60), data("faq", entry.number, question_tag(entry))),)
                 for entry in ctx.faq.entries[:limit])


def question_tag(entry) -> int:
    # Ties a button to the wording it showed, so a reordered FAQ makes old buttons stale, not wrong.
    return zlib.crc32(entry.questions[0].encode("utf-8")) % 100_000 + 1


def faq_feedback_buttons(dialog_id: int, entry) -> core.Buttons:
    """Under an FAQ answer the bot gave a waiting customer: it helped, or they want an operator."""
    tag = question_tag(entry)
    return (((texts.BUTTON_FAQ_HELPED, data("faqok", dialog_id, entry.number, tag)),),
            ((texts.BUTTON_FAQ_NOT_HELPED, data("faqno", dialog_id, entry.number, tag)),))


def suggestion_buttons(dialog_id: int, entry) -> core.Buttons:
    """Under a "likely" FAQ suggestion to the operator: send that answer in one tap."""
    return (((texts.BUTTON_FAQ_SEND.format(number=entry.number),
              data("faqsend", dialog_id, entry.number, question_tag(entry))),),)


def choose_buttons(ctx: Context, seat: int) -> core.Buttons:
    """One "make current" button per open dialog of the seat."""
    rows = []
    for dialog in ctx.tx.seat_dialogs(seat):
        customer = ctx.tx.customer(dialog.customer_id)
        rows.append(((texts.BUTTON_SEND_TO.format(who=customer.label), data("pick", dialog.id)),))
    return tuple(rows)


def held_buttons(ctx: Context, seat: int, held_id: int) -> core.Buttons:
    """Under a held message: send it to one of the seat's open dialogs, or drop it."""
    rows = []
    for dialog in ctx.tx.seat_dialogs(seat):
        customer = ctx.tx.customer(dialog.customer_id)
        rows.append(((texts.BUTTON_SEND_TO.format(who=customer.label), data("send", held_id, dialog.id)),))
    rows.append(((texts.BUTTON_DROP, data("drop", held_id)),))
    return tuple(rows)


HERE_BUTTONS = (((texts.BUTTON_HERE, "here"),),)
