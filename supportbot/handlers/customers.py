"""The customer's side: a message opens or continues a dialog, waits in the queue, or is held by the flood limit."""
from __future__ import annotations

from .. import core, texts
from ..core import DialogState, IncomingMessage
from ..schedule import describe_opening
from ..storage import Customer, Dialog
from . import buttons, dialogs, relay
from .context import Context

FAQ_BUTTONS = 6


def customer_message(ctx: Context, msg: IncomingMessage) -> None:
    """Store a customer's message and relay it, open a dialog, or queue them."""
    tx = ctx.tx
    customer = tx.upsert_customer(msg.sender, msg.chat_id, ctx.now)
    if msg.command == "start" and not msg.args and not customer.banned:
        ctx.say(msg.chat_id, ctx.config.greeting, buttons.faq_buttons(ctx, FAQ_BUTTONS))
        return
    if msg.command == "help" and not msg.args and not customer.banned:
        ctx.say(msg.chat_id, texts.CUSTOMER_HELP)
        return
    if customer.banned:
        relay.store_incoming(ctx, customer, None, msg, suppressed=True)
        return
    dialog = tx.open_dialog(customer.id)
    is_new = dialog is None
    if is_new:
        dialog = tx.create_dialog(customer.id, ctx.now)
    held = relay.flood_hold(ctx, customer, dialog, msg)
    relay.store_incoming(ctx, customer, dialog, msg, suppressed=False, flood_held=held)
    if held:  # kept, and relayed combined once they calm down; the dialog still moves as usual
        relay.tell_flood_held(ctx, customer, dialog)
    if dialog.state is DialogState.ACTIVE:
        if not held:
            relay.deliver_pending(ctx, dialog)
        return
    if is_new and ctx.shop_open:
        if tx.queue_head().id == dialog.id:  # nobody waits ahead of them
            seat = core.choose_seat(tx.seat_loads(list(ctx.seats.online)), ctx.config.operator_chat_limit)
            if seat is not None:
                dialogs.assign(ctx, dialog, seat, texts.NEW_DIALOG)
                return
        for other in ctx.seats.online:
            ctx.notify(other, customer, texts.QUEUED_NOTICE.format(who=customer.label,
                                                                   position=tx.queue_position(dialog)),
                       buttons.dialog_buttons(customer.id, dialog.id, take=texts.BUTTON_TAKE))
    if not held and core.auto_reply_due(customer.last_auto_reply_at, ctx.now, ctx.config.cooldown_seconds):
        queued_auto_reply(ctx, customer, dialog, msg.text)


def queued_auto_reply(ctx: Context, customer: Customer, dialog: Dialog, question: str | None) -> None:
    """Tell a waiting customer their place and wait (or when the shop opens), plus a fitting FAQ answer."""
    position = ctx.tx.queue_position(dialog)
    if not ctx.shop_open:
        local_now = ctx.local(ctx.now)
        opening = ctx.config.working_hours.next_opening(local_now)
        reply = ctx.config.off_hours_reply.format(opens=describe_opening(opening, local_now) if opening else "")
    elif ctx.seats.online:
        reply = ctx.config.queued_reply.format(position=position, wait=wait_text(ctx, position))
    else:
        reply = ctx.config.no_operators_reply
    relay.bot_say(ctx, customer, dialog, reply)
    verdict = ctx.faq.classify(question) if question else None
    if verdict is not None and verdict.outcome == "sure":
        entry = verdict.entry
        relay.bot_say(ctx, customer, dialog, texts.FAQ_PREFIX.format(answer=entry.answer),
                      buttons.faq_feedback_buttons(dialog.id, entry))
        ctx.tx.add_faq_event(dialog.id, entry.number, "answered", ctx.now)
    ctx.tx.set_auto_reply_time(customer.id, ctx.now)
    ctx.tx.set_told_position(dialog.id, position)


def wait_text(ctx: Context, position: int) -> str:
    slots = len(ctx.seats.online) * ctx.config.operator_chat_limit
    wait = core.estimate_wait(position, slots, ctx.tx.average_dialog_seconds())
    return texts.minutes_text(wait) if wait is not None else "—"


def handle_membership(ctx: Context, change: core.MembershipChange) -> None:
    """Leave groups; notice a customer who blocked or unblocked the bot."""
    if change.chat_type != "private":
        if change.status in ("member", "administrator"):
            ctx.send(core.LeaveChat(change.chat_id))
        return
    if change.status == "kicked":
        dialogs.chat_unreachable(ctx, change.chat_id)
    elif change.status == "member":
        customer = ctx.tx.customer_by_chat(change.chat_id)
        if customer is not None:
            ctx.tx.set_unreachable(customer.id, False)


def handle_delivery_failure(ctx: Context, failure: core.DeliveryFailure) -> None:
    """React to an outbox row the sender gave up on."""
    if failure.blocked:
        dialogs.chat_unreachable(ctx, failure.chat_id)
        return
    customer = ctx.tx.customer_by_chat(failure.chat_id)
    dialog = ctx.tx.open_dialog(customer.id) if customer else None
    if dialog is not None and dialog.state is DialogState.ACTIVE and dialog.seat in ctx.seats.online:
        ctx.notify(dialog.seat, customer, texts.DELIVERY_FAILED.format(who=customer.label, error=failure.error),
                   dialog_id=dialog.id)
