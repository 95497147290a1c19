"""Moving dialogs: assigning, handing over, requeueing and ending them, and which one is current.

Every move asks the core: the state table says where a dialog goes, `core.routing` says
which dialog is current afterwards, `core.ending` what follows an ending. `end_dialog` is
the one place that closes a dialog, for every reason.
"""
from __future__ import annotations

from .. import core, texts
from ..core import Cause, DialogState, SetCommands
from ..storage import Customer, Dialog
from . import buttons, history, relay, topics
from .context import Context

HANDOVER_HISTORY = 10


def assign(ctx: Context, dialog: Dialog, seat: int, notice: str, *, chosen: bool = False, **extra: str) -> None:
    """Give a dialog to a seat: tell the operator, relay what waited, tell the customer.

    It becomes current when the operator chose it, or by the core's rule for automatic assignments.
    """
    waited = ctx.now - (dialog.queued_at or ctx.now)
    view = ctx.seat_view(seat)
    dialog = ctx.tx.assign(dialog, seat, ctx.now)
    ctx.tx.set_focus(seat, *core.focus_after_assign(view, dialog.id, chosen=chosen))
    customer = ctx.tx.customer(dialog.customer_id)
    topics.open_topic(ctx, seat, customer, dialog)
    current = ctx.tx.current_dialog(seat)
    is_current = ctx.topics or (current is not None and current.id == dialog.id)  # with topics: answer in it
    ctx.notify(seat, customer,
               notice.format(who=customer.label, waited=texts.minutes_text(waited),
                             current="" if ctx.topics else texts.NOW_CURRENT if is_current else texts.NOT_CURRENT,
                             **extra),
               buttons.dialog_buttons(customer.id, dialog.id, take=None if is_current else texts.BUTTON_MAKE_CURRENT),
               dialog_id=dialog.id)
    relay.deliver_pending(ctx, dialog)
    relay.tell_holds_to_new_operator(ctx, seat, customer, dialog)
    relay.bot_say(ctx, customer, dialog, texts.OPERATOR_JOINED.format(name=ctx.seats.name_of(seat)))


def make_current(ctx: Context, seat: int, customer: Customer, dialog: Dialog) -> None:
    """The operator chose this dialog."""
    ctx.tx.set_current(seat, dialog.id)
    ctx.notify(seat, customer, texts.CURRENT_SET.format(who=customer.label))


def fill_seats(ctx: Context) -> None:
    """Hand waiting customers to online seats with room, the least busy seat first."""
    while ctx.tx.queue_head() is not None:
        seat = core.choose_seat(ctx.tx.seat_loads(list(ctx.seats.online)), ctx.config.operator_chat_limit)
        if seat is None:
            return
        assign(ctx, ctx.tx.queue_head(), seat, texts.TAKEN_FROM_QUEUE)


def fill_seat(ctx: Context, seat: int) -> None:
    """Give a seat waiting customers, longest-waiting first, up to its limit."""
    while len(ctx.tx.seat_dialogs(seat)) < ctx.config.operator_chat_limit:
        head = ctx.tx.queue_head()
        if head is None:
            return
        assign(ctx, head, seat, texts.TAKEN_FROM_QUEUE)


def end_dialog(ctx: Context, dialog: Dialog, cause: Cause, *, by_seat: int | None = None) -> None:
    """Close a dialog for any reason (/done, ban, block, 403), with the follow-ups the core decides.

    `by_seat`: the seat whose operator ended it, if an operator did.
    """
    customer = ctx.tx.customer(dialog.customer_id)
    seat = dialog.seat if dialog.state is DialogState.ACTIVE and dialog.seat in ctx.seats.online else None
    by_its_operator = seat is not None and by_seat == seat
    follow = core.ending(cause, by_its_operator)
    view = ctx.seat_view(seat) if seat is not None else None
    if dialog.state is DialogState.ACTIVE and cause is Cause.DONE:
        relay.deliver_pending(ctx, dialog, flush_albums=True)  # an album still gathering goes out first
    ctx.tx.close_dialog(dialog, cause, ctx.now)
    if seat is not None:
        topics.close_topic(ctx, seat, customer, dialog, texts.TOPIC_DONE)
    if follow.thank_customer:
        relay.bot_say(ctx, customer, dialog, ctx.config.closed_reply)
        if ctx.config.csat_enabled and dialog.state is DialogState.ACTIVE:
            relay.bot_say(ctx, customer, dialog, texts.RATE_PROMPT, buttons.rating_buttons(dialog.id))
    if seat is None:
        return
    ctx.tx.set_current(seat, core.current_after_end(view, dialog.id, by_its_operator=by_its_operator))
    if follow.tell_operator:
        cleared = view.current == dialog.id and not ctx.topics
        ctx.notify(seat, customer, texts.DIALOG_ENDED[cause].format(who=customer.label)
                   + (texts.CURRENT_CLEARED if cleared else ""), dialog_id=dialog.id)
    fill_seat(ctx, seat)  # a freed place goes to the next waiting customer, whatever ended the dialog
    after_leaving(ctx, seat, view, dialog.id)


def after_leaving(ctx: Context, seat: int, before, left: int) -> None:
    """Tell the operator which dialog is current now that one left their seat (with topics there is none)."""
    current = ctx.tx.current_dialog(seat)
    if before.current != left or ctx.topics:
        return
    if current is not None:
        ctx.notify(seat, ctx.tx.customer(current.customer_id),
                   texts.CURRENT_SET.format(who=ctx.tx.customer(current.customer_id).label))
    elif ctx.tx.seat_dialogs(seat):
        ctx.say(ctx.seats.chat_of(seat), texts.CHOOSE_CURRENT, buttons.choose_buttons(ctx, seat))


def chat_unreachable(ctx: Context, chat_id: int) -> None:
    """A chat blocked the bot (or a send got 403): close a customer's dialog, or log an operator out."""
    seat = ctx.seats.seat_of_chat(chat_id)
    if seat is not None:
        release_seat(ctx, seat)
        return
    customer = ctx.tx.customer_by_chat(chat_id)
    if customer is None:
        return
    ctx.tx.set_unreachable(customer.id, True)
    dialog = ctx.tx.open_dialog(customer.id)
    if dialog is not None:
        end_dialog(ctx, dialog, Cause.BLOCKED)


def release_seat(ctx: Context, seat: int) -> None:
    """End a seat's session; its dialogs go to operators with room or back to the queue head."""
    chat = ctx.seats.chat_of(seat)
    name = ctx.seats.name_of(seat)
    dialogs = ctx.tx.seat_dialogs(seat)
    for dialog in dialogs:  # the operator's own album goes out; the customer's waits for the next operator
        relay.deliver_pending(ctx, dialog, flush_albums=True, directions=("out",))
    ctx.tx.seat_logout(seat)
    ctx.seats.load(ctx.tx.seats())
    ctx.send(SetCommands(chat))
    back_to_queue = []
    for dialog in dialogs:
        other = core.choose_seat(ctx.tx.seat_loads(list(ctx.seats.online)), ctx.config.operator_chat_limit)
        if other is None:
            back_to_queue.append(dialog)
        else:
            hand_over(ctx, dialog, other, name)
    requeue_and_tell(ctx, back_to_queue)


def requeue_and_tell(ctx: Context, dialogs: list[Dialog]) -> None:
    """Put dialogs back at the head of the queue and tell their customers their place."""
    ctx.tx.requeue_at_head(dialogs, ctx.now)
    for dialog in dialogs:
        queued = ctx.tx.dialog(dialog.id)
        position = ctx.tx.queue_position(queued)
        relay.bot_say(ctx, ctx.tx.customer(dialog.customer_id), queued, texts.REQUEUED.format(position=position))
        ctx.tx.set_told_position(dialog.id, position)


def hand_over(ctx: Context, dialog: Dialog, seat: int, from_name: str) -> None:
    """Move an active dialog to another seat with its recent history."""
    customer = ctx.tx.customer(dialog.customer_id)
    relay.deliver_pending(ctx, dialog, flush_albums=True, directions=("out",))
    assign(ctx, dialog, seat, texts.TRANSFER_RECEIVED, name=from_name)
    history.send_history(ctx, ctx.seats.chat_of(seat), customer, HANDOVER_HISTORY, topic_of=ctx.topic(dialog.id))


def transfer(ctx: Context, seat: int, customer: Customer, dialog: Dialog, target: int) -> None:
    """The operator's own /transfer: hand over, and decide what is current at their seat."""
    view = ctx.seat_view(seat)
    ctx.notify(seat, customer, texts.TRANSFER_DONE.format(who=customer.label, name=ctx.seats.name_of(target)),
               dialog_id=dialog.id)  # said in the old topic, before the dialog gets its new one
    topics.close_topic(ctx, seat, customer, dialog, texts.TOPIC_MOVED)
    hand_over(ctx, dialog, target, ctx.seats.name_of(seat))
    ctx.tx.set_current(seat, core.current_after_end(view, dialog.id, by_its_operator=True))
    fill_seat(ctx, seat)
    after_leaving(ctx, seat, view, dialog.id)
