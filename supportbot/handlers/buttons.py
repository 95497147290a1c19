"""Inline buttons: one registry that both builds callback data and reads it back.

A button carries a verb and numbers ("pick:12"); every number is checked again when pressed,
so an old button can at worst be stale, never wrong.
"""
from __future__ import annotations

import zlib
from typing import Callable

from .. import core, texts
from ..core import AnswerButton, ButtonPress, DialogState, RemoveButtons
from .context import Context

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
    from .history import short
    return tuple(((short(entry.questions[0], 60), data("faq", entry.number, question_tag(entry))),)
                 for entry in ctx.faq.entries[:limit])


def question_tag(entry) -> int:
    # Ties a button to the wording it showed, so a reordered FAQ makes old buttons stale, not wrong.
    return zlib.crc32(entry.questions[0].encode("utf-8")) % 100_000 + 1


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


# --- pressing ---------------------------------------------------------------------------

@verb("faq", 2)
def _faq(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    from .relay import bot_say
    entries = ctx.faq.entries
    if not 1 <= numbers[0] <= len(entries) or question_tag(entries[numbers[0] - 1]) != numbers[1]:
        return texts.FAQ_STALE
    customer = ctx.tx.upsert_customer(press.sender, press.chat_id, ctx.now)
    if customer.banned:
        return ""
    bot_say(ctx, customer, ctx.tx.open_dialog(customer.id), entries[numbers[0] - 1].answer)
    return ""


@verb("rate", 2)
def _rate(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    if not 1 <= numbers[1] <= 5:
        return texts.BUTTON_STALE
    dialog = ctx.tx.dialog(numbers[0])
    customer = ctx.tx.customer_by_chat(press.chat_id)
    if dialog is None or customer is None or dialog.customer_id != customer.id or dialog.state is not DialogState.CLOSED:
        return texts.BUTTON_STALE
    ctx.tx.set_rating(dialog.id, numbers[1])
    if press.message_id is not None:
        ctx.send(RemoveButtons(press.chat_id, press.message_id))
    return texts.RATE_THANKS


@verb("pick", 1)
def _pick(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    from .commands import take
    found = _open_dialog(ctx, seat, numbers[0])
    return take(ctx, seat, *found) if found else texts.BUTTON_STALE


@verb("end", 1)
def _end(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    from .commands import close_by_operator
    found = _open_dialog(ctx, seat, numbers[0])
    if found is None:
        return texts.BUTTON_STALE
    customer, dialog = found
    if dialog.state is DialogState.ACTIVE and dialog.seat != seat:
        return texts.TAKEN_ALREADY
    close_by_operator(ctx, seat, customer, dialog)
    return ""


@verb("hist", 1)
def _hist(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    from .history import send_history
    customer = ctx.tx.customer(numbers[0]) if seat is not None else None
    if customer is None:
        return texts.BUTTON_STALE
    send_history(ctx, press.chat_id, customer, ctx.config.history_limit)
    return ""


@verb("here", 0)
def _here(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    return texts.HERE_THANKS if seat is not None else texts.BUTTON_STALE


@verb("send", 2)
def _send(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    from .operators import send_held
    return send_held(ctx, seat, press, numbers[0], numbers[1]) if seat is not None else texts.BUTTON_STALE


@verb("drop", 1)
def _drop(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    from .operators import drop_held
    return drop_held(ctx, seat, press, numbers[0]) if seat is not None else texts.BUTTON_STALE


def _open_dialog(ctx: Context, seat: int | None, dialog_id: int):
    """(customer, dialog) for an online operator's button on a dialog still open; None otherwise."""
    if seat is None:
        return None
    dialog = ctx.tx.dialog(dialog_id)
    if dialog is None or dialog.state is DialogState.CLOSED:
        return None
    customer = ctx.tx.customer(dialog.customer_id)
    return None if customer is None else (customer, dialog)
