"""Timed duties, run every second: finished albums, flood holds, filling seats, alerts, queue updates, idle seats,
seats left by the web panel."""
from __future__ import annotations

from .. import core, texts
from . import buttons, customers, dialogs, panel, relay, report
from .context import Context


def tick(ctx: Context) -> None:
    """Run the timed duties."""
    for dialog_id in ctx.tx.dialogs_with_unrelayed_albums(ctx.now - relay.ALBUM_QUIET_SECONDS):
        dialog = ctx.tx.dialog(dialog_id)
        if dialog.seat in ctx.seats.online:
            relay.deliver_pending(ctx, dialog, flush_albums=True)
    relay.release_flood_holds(ctx)
    if ctx.seats.online and ctx.shop_open:
        dialogs.fill_seats(ctx)  # opening time, a raised limit, dialogs put back at start
    if ctx.seats.online:
        alert_long_waits(ctx)
        remind_unanswered(ctx)
        retell_places(ctx)
    check_idle_seats(ctx)
    panel.leave_abandoned_seats(ctx)
    report.tick(ctx)


def alert_long_waits(ctx: Context) -> None:
    for dialog in ctx.tx.dialogs_to_alert_waiting(ctx.now - ctx.config.wait_alert_seconds):
        customer = ctx.tx.customer(dialog.customer_id)
        text = texts.WAIT_ALERT.format(who=customer.label, waited=texts.minutes_text(ctx.now - dialog.queued_at))
        for seat in ctx.seats.online:
            ctx.notify(seat, customer, text, buttons.dialog_buttons(customer.id, dialog.id, take=texts.BUTTON_TAKE))
        ctx.tx.mark_wait_alerted(dialog.id)


def remind_unanswered(ctx: Context) -> None:
    for dialog, message in ctx.tx.unanswered_dialogs(ctx.now - ctx.config.unanswered_alert_seconds):
        if dialog.seat not in ctx.seats.online:
            continue
        customer = ctx.tx.customer(dialog.customer_id)
        ctx.notify(dialog.seat, customer,
                   texts.UNANSWERED_ALERT.format(who=customer.label,
                                                 waited=texts.minutes_text(ctx.now - message.created_at)),
                   buttons.dialog_buttons(customer.id, dialog.id, take=texts.BUTTON_MAKE_CURRENT),
                   dialog_id=dialog.id)
        ctx.tx.mark_unanswered_alerted(dialog.id, message.id)


def retell_places(ctx: Context) -> None:
    if not ctx.shop_open:
        return
    for position, dialog in enumerate(ctx.tx.queued_dialogs(), start=1):
        customer = ctx.tx.customer(dialog.customer_id)
        if customer.banned or not core.should_retell_place(
                dialog.told_position, position, customer.last_auto_reply_at, dialog.queued_at, ctx.now,
                ctx.config.cooldown_seconds):
            continue
        relay.bot_say(ctx, customer, dialog, texts.QUEUE_UPDATE.format(position=position,
                                                                       wait=customers.wait_text(ctx, position)))
        ctx.tx.set_auto_reply_time(customer.id, ctx.now)
        ctx.tx.set_told_position(dialog.id, position)


def check_idle_seats(ctx: Context) -> None:
    if ctx.config.operator_idle_seconds <= 0:
        return
    queue_waiting = ctx.tx.queue_head() is not None
    unanswered = ctx.tx.seats_with_unanswered()
    for row in ctx.tx.seats():  # fresh rows: last_seen_at changes with every operator message
        if row.seat not in ctx.seats.online or ctx.seats.held_by_panel(row.seat):  # the panel's seats: see panel
            continue
        waiting = queue_waiting or row.seat in unanswered
        if not waiting and row.idle_asked_at is not None:
            ctx.tx.set_idle_asked(row.seat, None)  # a question about customers long gone does not count
            continue
        step = core.idle_step(row.last_seen_at or 0, row.idle_asked_at, ctx.now, ctx.config.operator_idle_seconds,
                              waiting)
        if step == "ask":
            minutes = core.wait_minutes(ctx.config.operator_idle_seconds)
            ctx.say(row.chat_id, texts.IDLE_QUESTION.format(minutes=minutes), buttons.HERE_BUTTONS)
            ctx.tx.set_idle_asked(row.seat, ctx.now)
        elif step == "logout":
            dialogs.release_seat(ctx, row.seat)
            ctx.say(row.chat_id, texts.IDLE_LOGGED_OUT)
