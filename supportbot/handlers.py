"""Plain-function handlers: one event in, state changes and outbox rows out.

Handlers do no I/O of their own: they read and write through the Tx they are
given (one transaction per batch, a savepoint per event) and queue what must
be sent with `ctx.send`. They import neither telebot nor sqlite3.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from . import core, texts
from .config import Config
from .core import (CopyMessage, DeleteMessage, DeliveryFailure, DialogState, IncomingMessage, LeaveChat,
                   MembershipChange, Person, SendText, SetCommands)
from .storage import Customer, Dialog, SeatRow, StoredMessage, Tx

log = logging.getLogger(__name__)

CUSTOMER_COMMANDS = (("start", "Начать"), ("help", "Помощь"))
OPERATOR_COMMANDS = (
    ("next", "Взять следующего из очереди"),
    ("use", "Сделать диалог текущим: /use id"),
    ("done", "Завершить диалог: /done [id]"),
    ("history", "История клиента: /history id [N]"),
    ("logout", "Выйти"),
    ("help", "Справка"),
)
HANDOVER_HISTORY = 10


class SeatRegistry:
    """Who holds which seat right now: the in-memory mirror of the seats table."""

    def __init__(self, pins: tuple[str, ...]):
        self.pins = pins
        self.online: dict[int, SeatRow] = {}

    def load(self, rows: list[SeatRow]) -> None:
        """Rebuild from the database's seat rows."""
        self.online = {r.seat: r for r in rows if r.tg_user_id is not None and r.seat <= len(self.pins)}

    def seat_of_user(self, user_id: int) -> int | None:
        for seat, row in self.online.items():
            if row.tg_user_id == user_id:
                return seat
        return None

    def seat_of_chat(self, chat_id: int) -> int | None:
        for seat, row in self.online.items():
            if row.chat_id == chat_id:
                return seat
        return None

    def seat_for_pin(self, pin: str) -> int | None:
        return self.pins.index(pin) + 1 if pin in self.pins else None

    def chat_of(self, seat: int) -> int:
        return self.online[seat].chat_id

    def name_of(self, seat: int) -> str:
        return self.online[seat].first_name or f"линия {seat}"


@dataclass
class Context:
    """What a handler may touch: the transaction, settings, seats, FAQ, and the time."""
    tx: Tx
    config: Config
    seats: SeatRegistry
    faq_answer: Callable[[str], str | None]
    now: float
    notes: list[str] = field(default_factory=list)

    def send(self, action: core.Action, message_id: int | None = None) -> None:
        self.tx.enqueue(action, self.now, message_id)

    def say(self, chat_id: int, text: str) -> None:
        for piece in core.split_text(text):
            self.send(SendText(chat_id, piece))


def handle_event(ctx: Context, event: core.Event) -> None:
    """Apply one event."""
    if isinstance(event, IncomingMessage):
        handle_message(ctx, event)
    elif isinstance(event, MembershipChange):
        handle_membership(ctx, event)
    elif isinstance(event, DeliveryFailure):
        handle_delivery_failure(ctx, event)


def handle_message(ctx: Context, msg: IncomingMessage) -> None:
    """Route a message to the customer or the operator side."""
    if msg.chat_type != "private":
        ctx.send(LeaveChat(msg.chat_id))  # the bot serves private chats only
        return
    if msg.sender is None or msg.edited:
        return  # edits are handled by a later feature; the original is already relayed
    if msg.command == "operator":
        operator_login(ctx, msg)
        return
    seat = ctx.seats.seat_of_user(msg.sender.user_id)
    if seat is not None:
        operator_message(ctx, seat, msg)
    else:
        customer_message(ctx, msg)


def handle_membership(ctx: Context, change: MembershipChange) -> None:
    """Leave groups; notice a customer who blocked or unblocked the bot."""
    if change.chat_type != "private":
        if change.status in ("member", "administrator"):
            ctx.send(LeaveChat(change.chat_id))
        return
    if change.status == "kicked":
        chat_unreachable(ctx, change.chat_id)
    elif change.status == "member":
        customer = ctx.tx.customer_by_chat(change.chat_id)
        if customer is not None:
            ctx.tx.set_unreachable(customer.id, False)


def handle_delivery_failure(ctx: Context, failure: DeliveryFailure) -> None:
    """React to an outbox row the sender gave up on."""
    if failure.blocked:
        chat_unreachable(ctx, failure.chat_id)
        return
    customer = ctx.tx.customer_by_chat(failure.chat_id)
    dialog = ctx.tx.open_dialog(customer.id) if customer else None
    if dialog is not None and dialog.state is DialogState.ACTIVE and dialog.seat in ctx.seats.online:
        ctx.say(ctx.seats.chat_of(dialog.seat), texts.DELIVERY_FAILED.format(who=customer.label, error=failure.error))


# --- customers ----------------------------------------------------------------

def customer_message(ctx: Context, msg: IncomingMessage) -> None:
    """Store a customer's message and relay it, open a dialog, or queue them."""
    tx = ctx.tx
    customer = tx.upsert_customer(msg.sender, msg.chat_id, ctx.now)
    if msg.command == "start" and not msg.args:
        ctx.say(msg.chat_id, ctx.config.greeting)
        return
    if msg.command == "help" and not msg.args:
        ctx.say(msg.chat_id, texts.CUSTOMER_HELP)
        return
    dialog = tx.open_dialog(customer.id)
    is_new = dialog is None
    if is_new:
        dialog = tx.create_dialog(customer.id, ctx.now)
    tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id, direction="in", author=customer.first_name,
        author_user_id=customer.tg_user_id, content_type=msg.content_type, body=msg.text, file_id=msg.file_id,
        tg_chat_id=msg.chat_id, tg_message_id=msg.message_id, relayed=False, now=ctx.now,
    )
    if dialog.state is DialogState.ACTIVE:
        relay_unrelayed(ctx, dialog, customer)
        return
    if is_new:
        seat = core.choose_seat(tx.seat_loads(list(ctx.seats.online)), ctx.config.operator_chat_limit)
        if seat is not None:
            assign(ctx, dialog, seat, texts.NEW_DIALOG)
            return
    if core.auto_reply_due(customer.last_auto_reply_at, ctx.now, ctx.config.cooldown_seconds):
        queued_auto_reply(ctx, customer, dialog, msg.text)


def queued_auto_reply(ctx: Context, customer: Customer, dialog: Dialog, question: str | None) -> None:
    """Tell a waiting customer their place (or that no one is on duty), plus a fitting FAQ answer."""
    if ctx.seats.online:
        reply = ctx.config.queued_reply.format(position=ctx.tx.queue_position(dialog))
    else:
        reply = ctx.config.no_operators_reply
    bot_say(ctx, customer, dialog, reply)
    answer = ctx.faq_answer(question) if question else None
    if answer:
        bot_say(ctx, customer, dialog, texts.FAQ_PREFIX.format(answer=answer))
    ctx.tx.set_auto_reply_time(customer.id, ctx.now)


def bot_say(ctx: Context, customer: Customer, dialog: Dialog | None, text: str) -> None:
    """Send the bot's own words to a customer and keep them in the history."""
    ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id if dialog else None, direction="bot",
        author=texts.HISTORY_AUTHOR_BOT, author_user_id=None, content_type="text", body=text, file_id=None,
        tg_chat_id=None, tg_message_id=None, relayed=True, now=ctx.now,
    )
    ctx.say(customer.chat_id, text)


def relay_unrelayed(ctx: Context, dialog: Dialog, customer: Customer) -> None:
    """Show the dialog's operator every customer message they have not seen, in order."""
    op_chat = ctx.seats.chat_of(dialog.seat)
    pending = ctx.tx.unrelayed_messages(dialog.id)
    for message in pending:
        relay_to_operator(ctx, op_chat, customer, message)
    ctx.tx.mark_relayed([m.id for m in pending])


def relay_to_operator(ctx: Context, op_chat: int, customer: Customer, message: StoredMessage) -> None:
    who = customer.label
    if message.content_type == "text":
        for piece in core.split_text(texts.RELAY_TEXT.format(who=who, text=message.body or "")):
            ctx.send(SendText(op_chat, piece), message.id)
        return
    caption, header_apart = core.relay_caption(texts.RELAY_HEADER.format(who=who), message.body)
    if header_apart:
        ctx.send(SendText(op_chat, texts.RELAY_HEADER.format(who=who)), message.id)
    ctx.send(CopyMessage(op_chat, message.tg_chat_id, message.tg_message_id, caption, message.content_type),
             message.id)


def assign(ctx: Context, dialog: Dialog, seat: int, notice: str) -> None:
    """Give a dialog to a seat: tell the operator, relay what waited, tell the customer."""
    waited = ctx.now - (dialog.queued_at or ctx.now)
    dialog = ctx.tx.assign(dialog, seat, ctx.now)
    customer = ctx.tx.customer(dialog.customer_id)
    ctx.say(ctx.seats.chat_of(seat), notice.format(who=customer.label, waited=texts.minutes_text(waited)))
    relay_unrelayed(ctx, dialog, customer)
    bot_say(ctx, customer, dialog, texts.OPERATOR_JOINED.format(name=ctx.seats.name_of(seat)))


def fill_seat(ctx: Context, seat: int) -> None:
    """Give a seat waiting customers, longest-waiting first, up to its limit."""
    while len(ctx.tx.seat_dialogs(seat)) < ctx.config.operator_chat_limit:
        head = ctx.tx.queue_head()
        if head is None:
            return
        assign(ctx, head, seat, texts.TAKEN_FROM_QUEUE)


def chat_unreachable(ctx: Context, chat_id: int) -> None:
    """A chat blocked the bot: close a customer's dialog, or log an operator out."""
    seat = ctx.seats.seat_of_chat(chat_id)
    if seat is not None:
        release_seat(ctx, seat)
        return
    customer = ctx.tx.customer_by_chat(chat_id)
    if customer is None:
        return
    ctx.tx.set_unreachable(customer.id, True)
    dialog = ctx.tx.open_dialog(customer.id)
    if dialog is None:
        return
    ctx.tx.close_dialog(dialog, "blocked", ctx.now)
    if dialog.state is DialogState.ACTIVE and dialog.seat in ctx.seats.online:
        ctx.say(ctx.seats.chat_of(dialog.seat), texts.CUSTOMER_BLOCKED.format(who=customer.label))
        after_close(ctx, dialog.seat)


def retire_extra_seats(tx: Tx, seat_count: int, now: float) -> None:
    """Log out seats whose PIN left OPERATOR_PINS; their dialogs go back to the queue head."""
    for row in tx.seats():
        if row.seat > seat_count and row.tg_user_id is not None:
            tx.requeue_at_head(tx.seat_dialogs(row.seat), now)
            tx.seat_logout(row.seat)


# --- operators ----------------------------------------------------------------

def operator_login(ctx: Context, msg: IncomingMessage) -> None:
    """/operator <PIN>: take a seat; the PIN message is deleted at once."""
    tx, user, chat = ctx.tx, msg.sender, msg.chat_id
    if msg.args:
        ctx.send(DeleteMessage(chat, msg.message_id))
    failures, locked_until = tx.login_failures(user.user_id)
    locked = core.login_locked_for(failures, locked_until, ctx.now)
    if locked:
        ctx.say(chat, texts.LOGIN_LOCKED.format(minutes=core.wait_minutes(locked)))
        return
    pin = msg.args.strip()
    if not pin:
        ctx.say(chat, texts.LOGIN_USAGE)
        return
    seat = ctx.seats.seat_for_pin(pin)
    if seat is None:
        failures, locked_until = core.after_failed_login(failures, ctx.now)
        tx.set_login_failures(user.user_id, failures, locked_until)
        if locked_until is not None:
            ctx.say(chat, texts.LOGIN_LOCKED.format(minutes=core.wait_minutes(locked_until - ctx.now)))
        else:
            ctx.say(chat, texts.LOGIN_WRONG.format(left=core.LOGIN_MAX_FAILURES - failures))
        return
    tx.set_login_failures(user.user_id, 0, None)
    current = ctx.seats.seat_of_user(user.user_id)
    if current == seat:
        ctx.say(chat, texts.LOGIN_ALREADY.format(seat=seat))
        return
    if current is not None:
        ctx.say(chat, texts.LOGIN_OTHER_SEAT.format(seat=current))
        return
    previous = ctx.seats.online.get(seat)
    if previous is not None:
        ctx.say(previous.chat_id, texts.SEAT_TAKEN_OVER.format(seat=seat))
        ctx.send(SetCommands(previous.chat_id))
    tx.seat_login(seat, user, chat, ctx.now)
    ctx.seats.load(tx.seats())
    ctx.say(chat, texts.LOGIN_OK.format(seat=seat, limit=ctx.config.operator_chat_limit))
    ctx.send(SetCommands(chat, OPERATOR_COMMANDS))
    fill_seat(ctx, seat)


def operator_message(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    """An operator's command, or an answer for their current dialog."""
    command = OPERATOR_HANDLERS.get(msg.command) if msg.command else forward_to_customer
    if command is None:
        ctx.say(msg.chat_id, texts.UNKNOWN_COMMAND)
        return
    command(ctx, seat, msg)


def forward_to_customer(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    """Send an operator's ordinary message to their current dialog's customer."""
    dialog = ctx.tx.current_dialog(seat)
    if dialog is None:
        ctx.say(msg.chat_id, texts.NO_CURRENT)
        return
    customer = ctx.tx.customer(dialog.customer_id)
    message_id = ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id, direction="out", author=ctx.seats.name_of(seat),
        author_user_id=msg.sender.user_id, content_type=msg.content_type, body=msg.text, file_id=msg.file_id,
        tg_chat_id=msg.chat_id, tg_message_id=msg.message_id, relayed=True, now=ctx.now,
    )
    ctx.send(CopyMessage(customer.chat_id, msg.chat_id, msg.message_id, None, msg.content_type), message_id)


def cmd_help(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    ctx.say(msg.chat_id, texts.OPERATOR_HELP)


def cmd_logout(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    count = len(ctx.tx.seat_dialogs(seat))
    release_seat(ctx, seat)
    ctx.say(msg.chat_id, texts.LOGOUT_OK.format(count=count))


def release_seat(ctx: Context, seat: int) -> None:
    """End a seat's session; its dialogs go to operators with room or back to the queue head."""
    chat = ctx.seats.chat_of(seat)
    dialogs = ctx.tx.seat_dialogs(seat)
    ctx.tx.seat_logout(seat)
    ctx.seats.load(ctx.tx.seats())
    ctx.send(SetCommands(chat))
    back_to_queue = []
    for dialog in dialogs:
        other = core.choose_seat(ctx.tx.seat_loads(list(ctx.seats.online)), ctx.config.operator_chat_limit)
        if other is None:
            back_to_queue.append(dialog)
            continue
        ctx.tx.requeue_at_head([dialog], ctx.now)
        handed = ctx.tx.dialog(dialog.id)
        assign(ctx, handed, other, texts.TAKEN_FROM_QUEUE)
        send_history(ctx, ctx.seats.chat_of(other), ctx.tx.customer(dialog.customer_id), HANDOVER_HISTORY)
    ctx.tx.requeue_at_head(back_to_queue, ctx.now)


def cmd_next(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    if msg.args:
        ctx.say(msg.chat_id, "Использование: /next")
        return
    open_count = len(ctx.tx.seat_dialogs(seat))
    if open_count >= ctx.config.operator_chat_limit:
        ctx.say(msg.chat_id, texts.NEXT_FULL.format(count=open_count))
        return
    head = ctx.tx.queue_head()
    if head is None:
        ctx.say(msg.chat_id, texts.NEXT_EMPTY)
        return
    assign(ctx, head, seat, texts.TAKEN_FROM_QUEUE)


def cmd_use(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    ref = core.parse_customer_ref(msg.args)
    if ref is None:
        ctx.say(msg.chat_id, texts.USE_USAGE)
        return
    found = _customer_and_dialog(ctx, msg.chat_id, ref)
    if found is None:
        return
    customer, dialog = found
    if dialog.state is DialogState.ACTIVE:
        if dialog.seat != seat:
            ctx.say(msg.chat_id, texts.NOT_YOUR_DIALOG.format(who=customer.label, seat=dialog.seat))
            return
        ctx.tx.set_current(seat, dialog.id)
        ctx.say(msg.chat_id, texts.CURRENT_SET.format(who=customer.label))
        return
    open_count = len(ctx.tx.seat_dialogs(seat))
    if open_count >= ctx.config.operator_chat_limit:
        ctx.say(msg.chat_id, texts.NEXT_FULL.format(count=open_count))
        return
    assign(ctx, dialog, seat, texts.TAKEN_FROM_QUEUE)


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
        found = _customer_and_dialog(ctx, msg.chat_id, ref)
        if found is None:
            return
        customer, dialog = found
        if dialog.state is DialogState.ACTIVE and dialog.seat != seat:
            ctx.say(msg.chat_id, texts.NOT_YOUR_DIALOG.format(who=customer.label, seat=dialog.seat))
            return
    ctx.tx.close_dialog(dialog, "done", ctx.now)
    bot_say(ctx, customer, dialog, ctx.config.closed_reply)
    ctx.say(msg.chat_id, texts.DONE_OK.format(who=customer.label))
    after_close(ctx, seat)


def after_close(ctx: Context, seat: int) -> None:
    """Refill a seat from the queue; otherwise make its latest remaining dialog current."""
    fill_seat(ctx, seat)
    if ctx.tx.current_dialog(seat) is not None:
        return
    remaining = ctx.tx.seat_dialogs(seat)
    if remaining:
        latest = remaining[-1]
        ctx.tx.set_current(seat, latest.id)
        ctx.say(ctx.seats.chat_of(seat), texts.CURRENT_SET.format(who=ctx.tx.customer(latest.customer_id).label))


def cmd_history(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    args = core.parse_history_args(msg.args)
    if args is None:
        ctx.say(msg.chat_id, texts.HISTORY_USAGE)
        return
    customer = ctx.tx.find_customer(args.customer_ref)
    if customer is None:
        ctx.say(msg.chat_id, texts.NO_SUCH_CUSTOMER.format(ref=args.customer_ref))
        return
    send_history(ctx, msg.chat_id, customer, args.limit or ctx.config.history_limit)


def send_history(ctx: Context, chat_id: int, customer: Customer, limit: int) -> None:
    """Send a customer's last messages to an operator, split at Telegram's length limit."""
    messages = ctx.tx.history(customer.id, limit)
    if not messages:
        ctx.say(chat_id, texts.HISTORY_EMPTY.format(who=customer.label))
        return
    lines = [texts.HISTORY_HEAD.format(who=customer.label, count=len(messages))]
    lines += [history_line(m) for m in messages]
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(chat_id, piece))


def history_line(message: StoredMessage) -> str:
    """One history line: time, author, and text or "[фото] caption"."""
    when = datetime.fromtimestamp(message.created_at).strftime("%d.%m %H:%M")
    if message.content_type == "text":
        body = message.body or ""
    else:
        kind = f"[{texts.content_name(message.content_type)}]"
        body = f"{kind} {message.body}" if message.body else kind
    author = message.author if message.direction != "in" else f"{message.author} (клиент)"
    return texts.HISTORY_LINE.format(time=when, author=author, body=body)


def _customer_and_dialog(ctx: Context, chat_id: int, ref: int) -> tuple[Customer, Dialog] | None:
    customer = ctx.tx.find_customer(ref)
    if customer is None:
        ctx.say(chat_id, texts.NO_SUCH_CUSTOMER.format(ref=ref))
        return None
    dialog = ctx.tx.open_dialog(customer.id)
    if dialog is None:
        ctx.say(chat_id, texts.NO_OPEN_DIALOG.format(who=customer.label))
        return None
    return customer, dialog


OPERATOR_HANDLERS: dict[str, Callable[[Context, int, IncomingMessage], None]] = {
    "start": cmd_help,
    "help": cmd_help,
    "logout": cmd_logout,
    "next": cmd_next,
    "use": cmd_use,
    "done": cmd_done,
    "history": cmd_history,
}
