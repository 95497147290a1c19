"""What each inline button does when pressed; `buttons` builds them and reads them back."""
from __future__ import annotations

from .. import texts
from ..core import ButtonPress, DialogState, RemoveButtons
from . import buttons, commands, history, operators, relay
from .context import Context


@buttons.verb("faq", 2)
def _faq(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    entries = ctx.faq.entries
    if not 1 <= numbers[0] <= len(entries) or buttons.question_tag(entries[numbers[0] - 1]) != numbers[1]:
        return texts.FAQ_STALE
    customer = ctx.tx.upsert_customer(press.sender, press.chat_id, ctx.now)
    if customer.banned:
        return ""
    relay.bot_say(ctx, customer, ctx.tx.open_dialog(customer.id), entries[numbers[0] - 1].answer)
    return ""


@buttons.verb("rate", 2)
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


@buttons.verb("pick", 1)
def _pick(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    found = _open_dialog(ctx, seat, numbers[0])
    return commands.take(ctx, seat, *found) if found else texts.BUTTON_STALE


@buttons.verb("end", 1)
def _end(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    found = _open_dialog(ctx, seat, numbers[0])
    if found is None:
        return texts.BUTTON_STALE
    customer, dialog = found
    if dialog.state is DialogState.ACTIVE and dialog.seat != seat:
        return texts.TAKEN_ALREADY
    commands.close_by_operator(ctx, seat, customer, dialog)
    return ""


@buttons.verb("hist", 1)
def _hist(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    customer = ctx.tx.customer(numbers[0]) if seat is not None else None
    if customer is None:
        return texts.BUTTON_STALE
    history.send_history(ctx, press.chat_id, customer, ctx.config.history_limit)
    return ""


@buttons.verb("here", 0)
def _here(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    return texts.HERE_THANKS if seat is not None else texts.BUTTON_STALE


@buttons.verb("send", 2)
def _send(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    return operators.send_held(ctx, seat, press, numbers[0], numbers[1]) if seat is not None else texts.BUTTON_STALE


@buttons.verb("drop", 1)
def _drop(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    return operators.drop_held(ctx, seat, press, numbers[0]) if seat is not None else texts.BUTTON_STALE


def _open_dialog(ctx: Context, seat: int | None, dialog_id: int):
    """(customer, dialog) for an online operator's button on a dialog still open; None otherwise."""
    if seat is None:
        return None
    dialog = ctx.tx.dialog(dialog_id)
    if dialog is None or dialog.state is DialogState.CLOSED:
        return None
    customer = ctx.tx.customer(dialog.customer_id)
    return None if customer is None else (customer, dialog)


def _faq_entry(ctx: Context, number: int, tag: int):
    """The FAQ entry a button names, if it still has the wording the button showed."""
    entries = ctx.faq.entries
    if not 1 <= number <= len(entries) or buttons.question_tag(entries[number - 1]) != tag:
        return None
    return entries[number - 1]


def _faq_feedback(ctx: Context, press: ButtonPress, numbers: tuple[int, ...], kind: str):
    """Count a customer's press under the FAQ answer of their open dialog, once; (customer, dialog, entry) or None
    when the button is stale."""
    dialog = ctx.tx.dialog(numbers[0])
    customer = ctx.tx.customer_by_chat(press.chat_id)
    entry = _faq_entry(ctx, numbers[1], numbers[2])
    if (dialog is None or customer is None or entry is None or dialog.customer_id != customer.id
            or dialog.state is DialogState.CLOSED
            or ctx.tx.faq_event_exists(dialog.id, entry.number, ("helped", "not_helped"))):
        return None
    if press.message_id is not None:
        ctx.send(RemoveButtons(press.chat_id, press.message_id))
    ctx.tx.add_faq_event(dialog.id, entry.number, kind, ctx.now)
    return customer, dialog, entry


@buttons.verb("faqok", 3)
def _faq_helped(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    return texts.FAQ_HELPED_THANKS if _faq_feedback(ctx, press, numbers, "helped") else texts.BUTTON_STALE


@buttons.verb("faqno", 3)
def _faq_not_helped(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    """The answer did not help: the customer keeps their place, and their operator reads which answer it was."""
    found = _faq_feedback(ctx, press, numbers, "not_helped")
    if found is None:
        return texts.BUTTON_STALE
    customer, dialog, entry = found
    ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id, direction="in", author=customer.first_name,
        author_user_id=customer.tg_user_id, content_type="text",
        body=texts.FAQ_NOT_HELPED_RELAY.format(number=entry.number, question=entry.questions[0]), file_id=None,
        tg_chat_id=None, tg_message_id=None, relayed=False, now=ctx.now)
    if dialog.state is DialogState.ACTIVE and dialog.seat in ctx.seats.online:
        relay.deliver_pending(ctx, dialog)
    return texts.FAQ_NOT_HELPED_OK


@buttons.verb("faqsend", 3)
def _faq_send(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    """The operator sends the suggested FAQ answer to that dialog's customer, as their own reply."""
    dialog = ctx.tx.dialog(numbers[0]) if seat is not None else None
    entry = _faq_entry(ctx, numbers[1], numbers[2])
    if (dialog is None or entry is None or dialog.state is not DialogState.ACTIVE or dialog.seat != seat
            or ctx.tx.faq_event_exists(dialog.id, entry.number, ("suggestion_sent",))):  # a double tap sends once
        return texts.BUTTON_STALE
    customer = ctx.tx.customer(dialog.customer_id)
    relay.send_faq_answer(ctx, seat, press.sender.user_id, dialog, entry.answer)
    ctx.tx.add_faq_event(dialog.id, entry.number, "suggestion_sent", ctx.now)
    if press.message_id is not None:
        ctx.send(RemoveButtons(press.chat_id, press.message_id))
    return texts.FAQ_SUGGESTION_SENT.format(number=entry.number, who=customer.label)
