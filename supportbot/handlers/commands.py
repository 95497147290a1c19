"""Operators' commands: one function per command, and the table that maps names to them."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from .. import core, texts
from ..core import Cause, DialogState, IncomingMessage, SendText
from ..storage import Customer, Dialog
from . import dialogs, history, relay, report
from .context import Context


def take(ctx: Context, seat: int, customer: Customer, dialog: Dialog) -> str:
    """Take a queued customer or make one's own dialog current (/use, the button); return a button answer."""
    if dialog.state is DialogState.ACTIVE:
        if dialog.seat != seat:
            return texts.TAKEN_ALREADY
        dialogs.make_current(ctx, seat, customer, dialog)
        return ""
    if len(ctx.tx.seat_dialogs(seat)) >= ctx.config.operator_chat_limit:
        return texts.TAKE_REFUSED_FULL
    dialogs.assign(ctx, dialog, seat, texts.TAKEN_FROM_QUEUE, chosen=True)
    return ""


def close_by_operator(ctx: Context, seat: int, customer: Customer, dialog: Dialog) -> None:
    ctx.say(ctx.seats.chat_of(seat), texts.DONE_OK.format(who=customer.label), customer_id=customer.id)
    dialogs.end_dialog(ctx, dialog, Cause.DONE, by_seat=seat)


def cmd_help(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    ctx.say(msg.chat_id, texts.OPERATOR_HELP)


def cmd_logout(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    count = len(ctx.tx.seat_dialogs(seat))
    dialogs.release_seat(ctx, seat)
    ctx.say(msg.chat_id, texts.LOGOUT_OK.format(count=count))


def cmd_next(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    if msg.args:
        ctx.say(msg.chat_id, texts.NEXT_USAGE)
        return
    open_count = len(ctx.tx.seat_dialogs(seat))
    if open_count >= ctx.config.operator_chat_limit:
        ctx.say(msg.chat_id, texts.NEXT_FULL.format(count=open_count))
        return
    head = ctx.tx.queue_head()
    if head is None:
        ctx.say(msg.chat_id, texts.NEXT_EMPTY)
        return
    dialogs.assign(ctx, head, seat, texts.TAKEN_FROM_QUEUE, chosen=True)


def cmd_use(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    ref = core.parse_customer_ref(msg.args)
    if ref is None:
        ctx.say(msg.chat_id, texts.USE_USAGE)
        return
    found = _queued_or_mine(ctx, seat, msg.chat_id, ref)
    if found is None:
        return
    customer, dialog = found
    if dialog.state is DialogState.QUEUED and len(ctx.tx.seat_dialogs(seat)) >= ctx.config.operator_chat_limit:
        ctx.say(msg.chat_id, texts.NEXT_FULL.format(count=len(ctx.tx.seat_dialogs(seat))))
        return
    take(ctx, seat, customer, dialog)


def cmd_done(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    ok, ref = core.parse_optional_ref(msg.args)
    if not ok:
        ctx.say(msg.chat_id, texts.DONE_USAGE)
        return
    if ref is None:
        dialog = ctx.tx.current_dialog(seat)
        if dialog is None:
            ctx.say(msg.chat_id, texts.NO_CURRENT)
            return
        customer = ctx.tx.customer(dialog.customer_id)
    else:
        found = _queued_or_mine(ctx, seat, msg.chat_id, ref)
        if found is None:
            return
        customer, dialog = found
    close_by_operator(ctx, seat, customer, dialog)


def cmd_history(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    args = core.parse_history_args(msg.args)
    if args is None:
        ctx.say(msg.chat_id, texts.HISTORY_USAGE)
        return
    customer = _find_customer(ctx, msg.chat_id, args.customer_ref)
    if customer is None:
        return
    history.send_history(ctx, msg.chat_id, customer, args.limit or ctx.config.history_limit)


def cmd_list(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    if msg.args:
        ctx.say(msg.chat_id, texts.LIST_USAGE)
        return
    history.send_list(ctx, seat, msg.chat_id)


def cmd_who(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    lines = []
    for number in range(1, len(ctx.config.pins) + 1):
        if number in ctx.seats.online:
            lines.append(texts.WHO_LINE.format(seat=number, name=ctx.seats.name_of(number),
                                               count=len(ctx.tx.seat_dialogs(number)),
                                               limit=ctx.config.operator_chat_limit))
        else:
            lines.append(texts.WHO_OFFLINE.format(seat=number))
    lines.append(texts.LIST_HEAD_QUEUE.format(count=len(ctx.tx.queued_dialogs())))
    ctx.say(msg.chat_id, "\n".join(lines))


def _ref_and_rest(ctx: Context, msg: IncomingMessage, usage: str) -> tuple[int, str] | None:
    """Read "<id> <anything>" (for /transfer and /note); if malformed, answer with the usage line and return None."""
    parts = msg.args.split(maxsplit=1)
    ref = core.parse_customer_ref(parts[0]) if len(parts) == 2 else None
    if ref is None:
        ctx.say(msg.chat_id, usage)
        return None
    return ref, parts[1].strip()


def cmd_transfer(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    parsed = _ref_and_rest(ctx, msg, texts.TRANSFER_USAGE)
    if parsed is None:
        return
    ref, target_name = parsed
    target = int(target_name) if target_name.isascii() and target_name.isdigit() and len(target_name) < 6 else \
        ctx.seats.seat_by_name(target_name)
    if target not in ctx.seats.online:
        ctx.say(msg.chat_id, texts.TRANSFER_NO_SEAT.format(seat=target_name))
        return
    found = _customer_and_dialog(ctx, msg.chat_id, ref)
    if found is None:
        return
    customer, dialog = found
    if dialog.state is not DialogState.ACTIVE or dialog.seat != seat:
        ctx.say(msg.chat_id, texts.NOT_YOUR_DIALOG.format(who=customer.label, seat=dialog.seat or "—"))
        return
    if target == seat:
        ctx.say(msg.chat_id, texts.TRANSFER_SELF)
        return
    if len(ctx.tx.seat_dialogs(target)) >= ctx.config.operator_chat_limit:
        ctx.say(msg.chat_id, texts.TRANSFER_FULL.format(name=ctx.seats.name_of(target)))
        return
    dialogs.transfer(ctx, seat, customer, dialog, target)


def cmd_note(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    parsed = _ref_and_rest(ctx, msg, texts.NOTE_USAGE)
    if parsed is None:
        return
    ref, note = parsed
    customer = _find_customer(ctx, msg.chat_id, ref)
    if customer is None:
        return
    dialog = ctx.tx.open_dialog(customer.id)
    ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id if dialog else None, direction="note",
        author=ctx.seats.name_of(seat), author_user_id=msg.sender.user_id, content_type="text", body=note,
        file_id=None, tg_chat_id=msg.chat_id, tg_message_id=msg.message_id, relayed=True, now=ctx.now,
    )
    ctx.say(msg.chat_id, texts.NOTE_SAVED.format(who=customer.label), customer_id=customer.id)


def cmd_ban(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    _set_ban(ctx, seat, msg, banned=True)


def cmd_unban(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    _set_ban(ctx, seat, msg, banned=False)


def _set_ban(ctx: Context, seat: int, msg: IncomingMessage, *, banned: bool) -> None:
    ref = core.parse_customer_ref(msg.args)
    if ref is None:
        ctx.say(msg.chat_id, texts.BAN_USAGE)
        return
    customer = _find_customer(ctx, msg.chat_id, ref)
    if customer is not None:
        set_ban(ctx, seat, customer, banned=banned)


def set_ban(ctx: Context, seat: int, customer: Customer, *, banned: bool) -> None:
    """Ban or unban a customer for a seat (/ban, /unban, the panel); a ban ends their open dialog."""
    ctx.tx.set_banned(customer.id, banned)
    ctx.say(ctx.seats.chat_of(seat), (texts.BANNED if banned else texts.UNBANNED).format(who=customer.label))
    dialog = ctx.tx.open_dialog(customer.id)
    if banned and dialog is not None:
        dialogs.end_dialog(ctx, dialog, Cause.BANNED, by_seat=seat)  # silently: a banned customer is never answered


def cmd_stats(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    period = msg.args.strip().lower() or "today"
    if period not in texts.PERIOD_NAMES:
        ctx.say(msg.chat_id, texts.STATS_USAGE)
        return
    local_now = ctx.local(ctx.now)
    if period == "today":
        since = local_now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    else:
        since = (local_now - timedelta(days=7)).timestamp()
    lines = [texts.STATS_HEAD.format(period=texts.PERIOD_NAMES[period])]
    for line in core.summarize(ctx.tx.dialog_facts(since)):
        lines.append(texts.STATS_LINE.format(
            who=line.who or texts.STATS_TOTAL, opened=line.opened, closed=line.closed,
            wait_p50=texts.seconds_text(line.wait_p50), wait_p90=texts.seconds_text(line.wait_p90),
            first_p50=texts.seconds_text(line.first_p50), first_p90=texts.seconds_text(line.first_p90),
            rating=f"{line.rating:.1f}" if line.rating is not None else "—",
        ))
    faq = ctx.tx.faq_event_counts(since)
    answered, not_helped = faq.get("answered", 0), faq.get("not_helped", 0)
    lines.append(texts.STATS_FAQ.format(
        answered=answered, helped=faq.get("helped", 0), not_helped=not_helped,
        share=f"{not_helped / answered:.0%}" if answered else "—",
        suggested=faq.get("suggested", 0), sent=faq.get("suggestion_sent", 0)))
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(msg.chat_id, piece))


def cmd_canned(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    """/a <number or words>: send that FAQ answer to the current customer (the same rule as any message)."""
    if not msg.args:
        ctx.say(msg.chat_id, texts.CANNED_USAGE)
        return
    entry = ctx.faq.find(msg.args)
    if entry is None:
        ctx.say(msg.chat_id, texts.CANNED_NOT_FOUND)
        return
    route = core.route_operator_message(ctx.seat_view(seat), None)
    if not isinstance(route, core.Deliver):
        ctx.say(msg.chat_id, texts.NO_CURRENT if route.why == "none" else texts.CANNED_NOT_SENT)
        return
    relay.send_faq_answer(ctx, seat, msg.sender.user_id, ctx.tx.dialog(route.dialog_id), entry.answer)


def cmd_faq(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    entries = ctx.faq.entries
    if not entries:
        ctx.say(msg.chat_id, texts.FAQ_EMPTY)
        return
    lines = [texts.FAQ_LIST_HEAD] + [f"{e.number}. {e.questions[0]}" for e in entries]
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(msg.chat_id, piece))


def _find_customer(ctx: Context, chat_id: int, ref: int) -> Customer | None:
    """The customer by short number or Telegram id; otherwise say there is none."""
    customer = ctx.tx.find_customer(ref)
    if customer is None:
        ctx.say(chat_id, texts.NO_SUCH_CUSTOMER.format(ref=ref))
    return customer


def _customer_and_dialog(ctx: Context, chat_id: int, ref: int) -> tuple[Customer, Dialog] | None:
    customer = _find_customer(ctx, chat_id, ref)
    if customer is None:
        return None
    dialog = ctx.tx.open_dialog(customer.id)
    if dialog is None:
        ctx.say(chat_id, texts.NO_OPEN_DIALOG.format(who=customer.label))
        return None
    return customer, dialog


def _queued_or_mine(ctx: Context, seat: int, chat_id: int, ref: int) -> tuple[Customer, Dialog] | None:
    """The customer's open dialog if it waits in the queue or is this seat's; otherwise say why."""
    found = _customer_and_dialog(ctx, chat_id, ref)
    if found is not None and found[1].state is DialogState.ACTIVE and found[1].seat != seat:
        ctx.say(chat_id, texts.NOT_YOUR_DIALOG.format(who=found[0].label, seat=found[1].seat))
        return None
    return found


OPERATOR_HANDLERS: dict[str, Callable[[Context, int, IncomingMessage], None]] = {
    "start": cmd_help,
    "help": cmd_help,
    "logout": cmd_logout,
    "next": cmd_next,
    "use": cmd_use,
    "done": cmd_done,
    "history": cmd_history,
    "list": cmd_list,
    "who": cmd_who,
    "transfer": cmd_transfer,
    "note": cmd_note,
    "ban": cmd_ban,
    "unban": cmd_unban,
    "stats": cmd_stats,
    "report": report.cmd_report,
    "a": cmd_canned,
    "faq": cmd_faq,
}
