"""Plain-function handlers: one event in, state changes and outbox rows out.

Handlers do no I/O of their own: they read and write through the Tx they are
given (one transaction per batch, a savepoint per event) and queue what must
be sent with `ctx.send`. They import neither telebot nor sqlite3. `tick` runs
the timed duties (albums, alerts, queue updates, idle seats) the same way.
"""
from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol

from . import core, texts
from .config import Config
from .core import (AnswerButton, ButtonPress, CopyAlbum, CopyMessage, DeleteMessage, DeliveryFailure, DialogState,
                   EditMessage, IncomingMessage, LeaveChat, MembershipChange, RemoveButtons, SendText, SetCommands)
from .schedule import describe_opening
from .storage import Customer, Dialog, SeatRow, StoredMessage, Tx

log = logging.getLogger(__name__)

CUSTOMER_COMMANDS = (("start", "Начать и частые вопросы"), ("help", "Помощь"))
OPERATOR_COMMANDS = (
    ("list", "Мои диалоги и очередь"),
    ("next", "Взять следующего из очереди"),
    ("use", "Сделать диалог текущим: /use id"),
    ("done", "Завершить диалог: /done [id]"),
    ("history", "История клиента: /history id [N]"),
    ("transfer", "Передать диалог: /transfer id линия"),
    ("note", "Заметка: /note id текст"),
    ("a", "Ответ из FAQ: /a номер"),
    ("faq", "Список ответов FAQ"),
    ("who", "Кто на линии"),
    ("stats", "Статистика: /stats today|week"),
    ("ban", "Заблокировать клиента: /ban id"),
    ("unban", "Разблокировать: /unban id"),
    ("logout", "Выйти"),
    ("help", "Справка"),
)
HANDOVER_HISTORY = 10
FAQ_BUTTONS = 6
ALBUM_QUIET_SECONDS = 1.5  # album parts arrive as separate updates within a moment of each other
LIST_PREVIEW = 40


class Faq(Protocol):
    entries: tuple

    def match(self, text: str): ...

    def find(self, query: str): ...


class SeatRegistry:
    """Who holds which seat right now: the in-memory mirror of the seats table."""

    def __init__(self, pins: tuple[str, ...]):
        self.pins = pins
        self.online: dict[int, SeatRow] = {}

    def load(self, rows: list[SeatRow]) -> None:
        """Rebuild from the database's seat rows."""
        self.online = {r.seat: r for r in rows if r.tg_user_id is not None and r.seat <= len(self.pins)}

    def seat_of_user(self, user_id: int) -> int | None:
        return next((seat for seat, row in self.online.items() if row.tg_user_id == user_id), None)

    def seat_of_chat(self, chat_id: int) -> int | None:
        return next((seat for seat, row in self.online.items() if row.chat_id == chat_id), None)

    def seat_for_pin(self, pin: str) -> int | None:
        return self.pins.index(pin) + 1 if pin in self.pins else None

    def seat_by_name(self, name: str) -> int | None:
        lowered = name.lower()
        return next((seat for seat, row in self.online.items() if (row.first_name or "").lower() == lowered), None)

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
    faq: Faq
    now: float

    def send(self, action: core.Action, message_id: int | None = None, customer_id: int | None = None) -> int:
        return self.tx.enqueue(action, self.now, message_id, customer_id)

    def say(self, chat_id: int, text: str, buttons: core.Buttons = (), customer_id: int | None = None) -> None:
        """Send text, split at Telegram's limit; buttons go under the last piece."""
        pieces = core.split_text(text)
        for number, piece in enumerate(pieces, start=1):
            self.send(SendText(chat_id, piece, buttons if number == len(pieces) else ()), customer_id=customer_id)

    def local(self, timestamp: float) -> datetime:
        """A stored UTC time as the shop's local time."""
        if self.config.timezone is not None:
            return datetime.fromtimestamp(timestamp, self.config.timezone)
        return datetime.fromtimestamp(timestamp).astimezone()

    @property
    def shop_open(self) -> bool:
        return self.config.working_hours.is_open(self.local(self.now))


def handle_event(ctx: Context, event: core.Event) -> None:
    """Apply one event."""
    if isinstance(event, IncomingMessage):
        handle_message(ctx, event)
    elif isinstance(event, ButtonPress):
        handle_button(ctx, event)
    elif isinstance(event, MembershipChange):
        handle_membership(ctx, event)
    elif isinstance(event, DeliveryFailure):
        handle_delivery_failure(ctx, event)


def startup(ctx: Context) -> None:
    """Duties at start: log out seats whose PIN was changed or removed; give customers their command menu."""
    pins = ctx.config.pins
    for row in ctx.tx.seats():
        if row.tg_user_id is None:
            continue
        pin = pins[row.seat - 1] if row.seat <= len(pins) else None
        salt, digest = ctx.tx.seat_pin(row.seat)
        if pin is not None and digest is None:  # logged in before seats remembered their PIN
            ctx.tx.set_seat_pin(row.seat, *core.pin_fingerprint(pin))
        elif not core.pin_still_valid(pin, salt, digest):
            dialogs = ctx.tx.seat_dialogs(row.seat)
            ctx.tx.seat_logout(row.seat)
            requeue_and_tell(ctx, dialogs)
            ctx.say(row.chat_id, texts.PIN_CHANGED)
            ctx.send(SetCommands(row.chat_id))
    ctx.seats.load(ctx.tx.seats())
    ctx.send(SetCommands(0, CUSTOMER_COMMANDS, scope="all_private_chats"))


def handle_message(ctx: Context, msg: IncomingMessage) -> None:
    """Route a message to the customer or the operator side."""
    if msg.chat_type != "private":
        ctx.send(LeaveChat(msg.chat_id))  # the bot serves private chats only
        return
    if msg.sender is None:
        return
    if msg.edited:
        handle_edit(ctx, msg)
        return
    seat = ctx.seats.seat_of_user(msg.sender.user_id)
    if msg.command is not None and msg.command.startswith("operator") and (seat is None or msg.command == "operator"):
        operator_login(ctx, msg)  # "/operator1234" too: a PIN glued to the command is still a PIN
        return
    if seat is not None:
        ctx.tx.seat_seen(seat, ctx.now)
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
        ctx.say(ctx.seats.chat_of(dialog.seat), texts.DELIVERY_FAILED.format(who=customer.label, error=failure.error),
                customer_id=customer.id)


# --- customers ----------------------------------------------------------------

def customer_message(ctx: Context, msg: IncomingMessage) -> None:
    """Store a customer's message and relay it, open a dialog, or queue them."""
    tx = ctx.tx
    customer = tx.upsert_customer(msg.sender, msg.chat_id, ctx.now)
    if msg.command == "start" and not msg.args and not customer.banned:
        ctx.say(msg.chat_id, ctx.config.greeting, faq_buttons(ctx))
        return
    if msg.command == "help" and not msg.args and not customer.banned:
        ctx.say(msg.chat_id, texts.CUSTOMER_HELP)
        return
    if customer.banned:
        store_incoming(ctx, customer, None, msg, suppressed=True)
        return
    limit = ctx.config.flood_max_messages
    flooded = core.flood_exceeded(tx.recent_incoming_count(customer.id, msg.date - 60, limit + 1) + 1, limit)
    dialog = tx.open_dialog(customer.id)
    is_new = dialog is None
    if is_new:
        dialog = tx.create_dialog(customer.id, ctx.now)
    store_incoming(ctx, customer, dialog, msg, suppressed=flooded)
    if flooded:
        if customer.flood_warned_at is None or ctx.now - customer.flood_warned_at >= 60:
            bot_say(ctx, customer, dialog, texts.FLOOD_WARNING)
            tx.set_flood_warned(customer.id, ctx.now)
        return
    if dialog.state is DialogState.ACTIVE:
        deliver_pending(ctx, dialog)
        return
    if is_new and ctx.shop_open:
        if tx.queue_head().id == dialog.id:  # nobody waits ahead of them
            seat = core.choose_seat(tx.seat_loads(list(ctx.seats.online)), ctx.config.operator_chat_limit)
            if seat is not None:
                assign(ctx, dialog, seat, texts.NEW_DIALOG)
                return
        for other in ctx.seats.online:
            ctx.say(ctx.seats.chat_of(other), texts.QUEUED_NOTICE.format(
                who=customer.label, position=tx.queue_position(dialog)),
                dialog_buttons(customer.id, dialog.id, take=texts.BUTTON_TAKE), customer_id=customer.id)
    if core.auto_reply_due(customer.last_auto_reply_at, ctx.now, ctx.config.cooldown_seconds):
        queued_auto_reply(ctx, customer, dialog, msg.text)


def store_incoming(ctx: Context, customer: Customer, dialog: Dialog | None, msg: IncomingMessage,
                   *, suppressed: bool, edit_of: int | None = None) -> int:
    """Keep a customer's message; a suppressed one (banned, flooding) is never relayed."""
    return ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id if dialog else None, direction="in",
        author=customer.first_name, author_user_id=customer.tg_user_id, content_type=msg.content_type,
        body=msg.text, file_id=msg.file_id, tg_chat_id=msg.chat_id, tg_message_id=msg.message_id,
        relayed=suppressed, now=ctx.now, media_group_id=None if edit_of else msg.media_group_id, edit_of=edit_of,
        suppressed=suppressed, tg_date=msg.date,
    )


def faq_buttons(ctx: Context) -> core.Buttons:
    """One button per leading FAQ question (the owner orders the file by importance)."""
    return tuple(((_short(entry.questions[0], 60), f"faq:{entry.number}:{_question_tag(entry)}"),)
                 for entry in ctx.faq.entries[:FAQ_BUTTONS])


def _question_tag(entry) -> int:
    # Ties a button to the wording it showed, so a reordered FAQ makes old buttons stale, not wrong.
    return zlib.crc32(entry.questions[0].encode("utf-8")) % 100_000 + 1


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
    bot_say(ctx, customer, dialog, reply)
    match = ctx.faq.match(question) if question else None
    if match:
        bot_say(ctx, customer, dialog, texts.FAQ_PREFIX.format(answer=match.entry.answer))
    ctx.tx.set_auto_reply_time(customer.id, ctx.now)
    ctx.tx.set_told_position(dialog.id, position)


def wait_text(ctx: Context, position: int) -> str:
    slots = len(ctx.seats.online) * ctx.config.operator_chat_limit
    wait = core.estimate_wait(position, slots, ctx.tx.average_dialog_seconds())
    return texts.minutes_text(wait) if wait is not None else "—"


def bot_say(ctx: Context, customer: Customer, dialog: Dialog | None, text: str, buttons: core.Buttons = ()) -> None:
    """Send the bot's own words to a customer and keep them in the history."""
    ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id if dialog else None, direction="bot",
        author=texts.HISTORY_AUTHOR_BOT, author_user_id=None, content_type="text", body=text, file_id=None,
        tg_chat_id=None, tg_message_id=None, relayed=True, now=ctx.now,
    )
    ctx.say(customer.chat_id, text, buttons)


def deliver_pending(ctx: Context, dialog: Dialog, *, flush_albums: bool = False,
                    directions: tuple[str, ...] = ("in", "out")) -> None:
    """Deliver a dialog's undelivered messages in order: customers' to the operator, operators' to the customer.

    An album still arriving (its newest part younger than ALBUM_QUIET_SECONDS and nothing after it)
    waits for `tick`, so that it goes as one album.
    """
    customer = ctx.tx.customer(dialog.customer_id)
    pending = [m for m in ctx.tx.unrelayed_messages(dialog.id) if m.direction in directions]
    done: list[int] = []
    index = 0
    while index < len(pending):
        first = pending[index]
        group = [first]
        while (first.media_group_id and index + len(group) < len(pending)
               and pending[index + len(group)].media_group_id == first.media_group_id):
            group.append(pending[index + len(group)])
        is_last = index + len(group) == len(pending)
        if (first.media_group_id and is_last and not flush_albums
                and not ctx.tx.album_ready(dialog.id, first.media_group_id, ctx.now - ALBUM_QUIET_SECONDS)):
            break
        if first.direction == "in":
            relay_to_operator(ctx, ctx.seats.chat_of(dialog.seat), customer, group)
        else:
            relay_to_customer(ctx, customer, group)
        done += [m.id for m in group]
        index += len(group)
    ctx.tx.mark_relayed(done)


def relay_to_operator(ctx: Context, op_chat: int, customer: Customer, group: list[StoredMessage]) -> None:
    who, first = customer.label, group[0]
    header = texts.RELAY_HEADER.format(who=who)
    if first.edit_of is not None:
        original = ctx.tx.outbox_of_message(first.edit_of, op_chat)
        text = texts.EDITED_RELAY.format(who=who, text=first.body or "")
        for piece in core.split_text(text):
            ctx.send(SendText(op_chat, piece, reply_to_outbox=original), first.id, customer.id)
        return
    if len(group) > 1:
        ctx.send(SendText(op_chat, header), first.id, customer.id)
        ctx.send(CopyAlbum(op_chat, first.tg_chat_id, tuple(m.tg_message_id for m in group)), first.id, customer.id)
        return
    if first.content_type == "text":
        for piece in core.split_text(texts.RELAY_TEXT.format(who=who, text=first.body or "")):
            ctx.send(SendText(op_chat, piece), first.id, customer.id)
        return
    caption, header_apart = core.relay_caption(header, first.body)
    if header_apart:
        ctx.send(SendText(op_chat, header), first.id, customer.id)
    ctx.send(CopyMessage(op_chat, first.tg_chat_id, first.tg_message_id, caption, first.content_type),
             first.id, customer.id)


def relay_to_customer(ctx: Context, customer: Customer, group: list[StoredMessage]) -> None:
    first = group[0]
    if len(group) > 1:
        ctx.send(CopyAlbum(customer.chat_id, first.tg_chat_id, tuple(m.tg_message_id for m in group)), first.id)
    else:
        ctx.send(CopyMessage(customer.chat_id, first.tg_chat_id, first.tg_message_id, None, first.content_type),
                 first.id)


def handle_edit(ctx: Context, msg: IncomingMessage) -> None:
    """A customer's edit reaches the operator marked as such; an operator's edit changes the customer's copy."""
    original = ctx.tx.message_by_telegram_id(msg.chat_id, msg.message_id)
    if original is None:
        return  # not a message of a conversation (a command, or older than the bot)
    customer = ctx.tx.customer(original.customer_id)
    if original.direction == "in":
        dialog = ctx.tx.open_dialog(customer.id)
        live = dialog is not None and dialog.id == original.dialog_id and not original.suppressed
        store_incoming(ctx, customer, dialog if live else None, msg, suppressed=not live or customer.banned,
                       edit_of=original.id)
        if live and dialog.state is DialogState.ACTIVE:
            deliver_pending(ctx, dialog)
        return
    if original.direction == "out":
        ctx.tx.add_message(
            customer_id=customer.id, dialog_id=original.dialog_id, direction="out", author=original.author,
            author_user_id=msg.sender.user_id, content_type=msg.content_type, body=msg.text, file_id=msg.file_id,
            tg_chat_id=msg.chat_id, tg_message_id=msg.message_id, relayed=True, now=ctx.now, edit_of=original.id,
        )
        target = ctx.tx.outbox_of_message(original.id, customer.chat_id)
        if target is not None and msg.text is not None:
            ctx.send(EditMessage(customer.chat_id, target, msg.text, caption=msg.content_type != "text"))


def assign(ctx: Context, dialog: Dialog, seat: int, notice: str, *, chosen: bool = False, **extra: str) -> None:
    """Give a dialog to a seat: tell the operator, relay what waited, tell the customer.

    It becomes the seat's current dialog when the operator chose it (`chosen`) or has no current one.
    """
    waited = ctx.now - (dialog.queued_at or ctx.now)
    dialog = ctx.tx.assign(dialog, seat, ctx.now)
    if chosen:
        ctx.tx.set_current(seat, dialog.id)
    customer = ctx.tx.customer(dialog.customer_id)
    is_current = ctx.tx.current_dialog(seat).id == dialog.id
    ctx.say(ctx.seats.chat_of(seat),
            notice.format(who=customer.label, waited=texts.minutes_text(waited),
                          current=texts.NOW_CURRENT if is_current else texts.NOT_CURRENT, **extra),
            dialog_buttons(customer.id, dialog.id, take=None if is_current else texts.BUTTON_MAKE_CURRENT),
            customer_id=customer.id)
    deliver_pending(ctx, dialog)
    bot_say(ctx, customer, dialog, texts.OPERATOR_JOINED.format(name=ctx.seats.name_of(seat)))


def dialog_buttons(customer_id: int, dialog_id: int, *, take: str | None) -> core.Buttons:
    """Buttons under a notice: [take or make current], history, close; they carry the dialog's id."""
    row = [(texts.BUTTON_HISTORY, f"hist:{customer_id}"), (texts.BUTTON_CLOSE, f"end:{dialog_id}")]
    if take:
        row.insert(0, (take, f"pick:{dialog_id}"))
    return (tuple(row),)


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
        ctx.say(ctx.seats.chat_of(dialog.seat), texts.CUSTOMER_BLOCKED.format(who=customer.label),
                customer_id=customer.id)
        after_close(ctx, dialog.seat)


# --- buttons ------------------------------------------------------------------------

def handle_button(ctx: Context, press: ButtonPress) -> None:
    """Answer an inline button; every id in it is checked again now."""
    parsed = core.parse_button(press.data)
    seat = ctx.seats.seat_of_user(press.sender.user_id) if press.sender else None
    if seat is not None:
        ctx.tx.seat_seen(seat, ctx.now)
    handler = BUTTON_HANDLERS.get(parsed[0]) if parsed else None
    answer = handler(ctx, seat, press, parsed[1]) if handler else texts.BUTTON_STALE
    ctx.send(AnswerButton(press.chat_id, press.callback_id, answer or ""))


def button_faq(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    entries = ctx.faq.entries
    if len(numbers) != 2 or not 1 <= numbers[0] <= len(entries) or _question_tag(entries[numbers[0] - 1]) != numbers[1]:
        return texts.FAQ_STALE
    entry = entries[numbers[0] - 1]
    customer = ctx.tx.upsert_customer(press.sender, press.chat_id, ctx.now)
    if customer.banned:
        return ""
    bot_say(ctx, customer, ctx.tx.open_dialog(customer.id), entry.answer)
    return ""


def button_rate(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    if len(numbers) != 2 or not 1 <= numbers[1] <= 5:
        return texts.BUTTON_STALE
    dialog = ctx.tx.dialog(numbers[0])
    customer = ctx.tx.customer_by_chat(press.chat_id)
    if dialog is None or customer is None or dialog.customer_id != customer.id or dialog.state is not DialogState.CLOSED:
        return texts.BUTTON_STALE
    ctx.tx.set_rating(dialog.id, numbers[1])
    if press.message_id is not None:
        ctx.send(RemoveButtons(press.chat_id, press.message_id))
    return texts.RATE_THANKS


def _operator_button(action: Callable[[Context, int, int, Customer, Dialog | None], str], *, by_dialog: bool):
    """Wrap an operator's button: only online operators; a dialog button works only while that dialog is open."""
    def handler(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
        if seat is None or len(numbers) != 1:
            return texts.BUTTON_STALE
        if by_dialog:
            dialog = ctx.tx.dialog(numbers[0])
            if dialog is None or dialog.state is DialogState.CLOSED:
                return texts.BUTTON_STALE
            customer = ctx.tx.customer(dialog.customer_id)
        else:
            customer = ctx.tx.customer(numbers[0])
            dialog = None
        if customer is None:
            return texts.BUTTON_STALE
        return action(ctx, seat, press.chat_id, customer, dialog)
    return handler


def _take(ctx: Context, seat: int, chat_id: int, customer: Customer, dialog: Dialog | None) -> str:
    if dialog is None:
        return texts.BUTTON_STALE
    if dialog.state is DialogState.ACTIVE:
        if dialog.seat != seat:
            return texts.TAKEN_ALREADY
        ctx.tx.set_current(seat, dialog.id)
        ctx.say(chat_id, texts.CURRENT_SET.format(who=customer.label))
        return ""
    if len(ctx.tx.seat_dialogs(seat)) >= ctx.config.operator_chat_limit:
        return texts.TAKE_REFUSED_FULL
    assign(ctx, dialog, seat, texts.TAKEN_FROM_QUEUE, chosen=True)
    return ""


def _history(ctx: Context, seat: int, chat_id: int, customer: Customer, dialog: Dialog | None) -> str:
    send_history(ctx, chat_id, customer, ctx.config.history_limit)
    return ""


def _close(ctx: Context, seat: int, chat_id: int, customer: Customer, dialog: Dialog | None) -> str:
    if dialog is None:
        return texts.BUTTON_STALE
    if dialog.state is DialogState.ACTIVE and dialog.seat != seat:
        return texts.TAKEN_ALREADY
    close(ctx, seat, chat_id, customer, dialog)
    return ""


def _here(ctx: Context, seat: int | None, press: ButtonPress, numbers: tuple[int, ...]) -> str:
    return texts.HERE_THANKS if seat is not None else texts.BUTTON_STALE


BUTTON_HANDLERS = {
    "faq": button_faq,
    "rate": button_rate,
    "pick": _operator_button(_take, by_dialog=True),
    "hist": _operator_button(_history, by_dialog=False),
    "end": _operator_button(_close, by_dialog=True),
    "here": _here,
}


# --- operators ----------------------------------------------------------------

def operator_login(ctx: Context, msg: IncomingMessage) -> None:
    """/operator <PIN>: take a seat; the PIN message is deleted at once."""
    tx, user, chat = ctx.tx, msg.sender, msg.chat_id
    pin = msg.args.strip() or msg.command.removeprefix("operator")
    if pin:
        ctx.send(DeleteMessage(chat, msg.message_id))  # first of all, even when locked out
    failures, locked_until = tx.login_failures(user.user_id)
    locked = core.login_locked_for(failures, locked_until, ctx.now)
    if locked:
        ctx.say(chat, texts.LOGIN_LOCKED.format(minutes=core.wait_minutes(locked)))
        return
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
    tx.seat_login(seat, user, chat, ctx.now, *core.pin_fingerprint(pin))
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
    """Send an operator's message to the customer they replied to, or to their current dialog's."""
    dialog = _reply_target(ctx, seat, msg) if msg.reply_to_message_id else ctx.tx.current_dialog(seat)
    if dialog is None:
        if not msg.reply_to_message_id:
            ctx.say(msg.chat_id, texts.NO_CURRENT)
        return
    customer = ctx.tx.customer(dialog.customer_id)
    ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id, direction="out", author=ctx.seats.name_of(seat),
        author_user_id=msg.sender.user_id, content_type=msg.content_type, body=msg.text, file_id=msg.file_id,
        tg_chat_id=msg.chat_id, tg_message_id=msg.message_id, relayed=False, now=ctx.now,
        media_group_id=msg.media_group_id,
    )
    ctx.tx.set_first_response(dialog.id, ctx.now)
    deliver_pending(ctx, dialog)


def _reply_target(ctx: Context, seat: int, msg: IncomingMessage) -> Dialog | None:
    customer_id = ctx.tx.customer_of_sent_message(msg.chat_id, msg.reply_to_message_id)
    if customer_id is None:  # a reply to the operator's own earlier answer
        own = ctx.tx.message_by_telegram_id(msg.chat_id, msg.reply_to_message_id)
        customer_id = own.customer_id if own is not None and own.direction == "out" else None
    if customer_id is None:
        # Guessing could hand one customer's words to another: refuse instead.
        ctx.say(msg.chat_id, texts.REPLY_UNKNOWN)
        return None
    dialog = ctx.tx.open_dialog(customer_id)
    if dialog is None or dialog.state is not DialogState.ACTIVE or dialog.seat != seat:
        ctx.say(msg.chat_id, texts.REPLY_TARGET_GONE.format(who=ctx.tx.customer(customer_id).label))
        return None
    return dialog


def cmd_help(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    ctx.say(msg.chat_id, texts.OPERATOR_HELP)


def cmd_logout(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    count = len(ctx.tx.seat_dialogs(seat))
    release_seat(ctx, seat)
    ctx.say(msg.chat_id, texts.LOGOUT_OK.format(count=count))


def release_seat(ctx: Context, seat: int) -> None:
    """End a seat's session; its dialogs go to operators with room or back to the queue head."""
    chat = ctx.seats.chat_of(seat)
    name = ctx.seats.name_of(seat)
    dialogs = ctx.tx.seat_dialogs(seat)
    for dialog in dialogs:  # the operator's own album goes out; the customer's waits for the next operator
        deliver_pending(ctx, dialog, flush_albums=True, directions=("out",))
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
        bot_say(ctx, ctx.tx.customer(dialog.customer_id), queued, texts.REQUEUED.format(position=position))
        ctx.tx.set_told_position(dialog.id, position)


def hand_over(ctx: Context, dialog: Dialog, seat: int, from_name: str) -> None:
    """Move an active dialog to another seat with its recent history."""
    customer = ctx.tx.customer(dialog.customer_id)
    deliver_pending(ctx, dialog, flush_albums=True, directions=("out",))
    assign(ctx, dialog, seat, texts.TRANSFER_RECEIVED, name=from_name)
    send_history(ctx, ctx.seats.chat_of(seat), customer, HANDOVER_HISTORY)


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
    assign(ctx, head, seat, texts.TAKEN_FROM_QUEUE, chosen=True)


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
    _take(ctx, seat, msg.chat_id, customer, dialog)


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
    close(ctx, seat, msg.chat_id, customer, dialog)


def close(ctx: Context, seat: int, chat_id: int, customer: Customer, dialog: Dialog) -> None:
    """Close a dialog: the customer is thanked (and asked to rate), the seat refilled."""
    if dialog.state is DialogState.ACTIVE:
        deliver_pending(ctx, dialog, flush_albums=True)  # an album still gathering goes out first
    ctx.tx.close_dialog(dialog, "done", ctx.now)
    bot_say(ctx, customer, dialog, ctx.config.closed_reply)
    if ctx.config.csat_enabled and dialog.state is DialogState.ACTIVE:
        stars = tuple((str(n), f"rate:{dialog.id}:{n}") for n in range(1, 6))
        bot_say(ctx, customer, dialog, texts.RATE_PROMPT, (stars,))
    ctx.say(chat_id, texts.DONE_OK.format(who=customer.label), customer_id=customer.id)
    after_close(ctx, seat)


def after_close(ctx: Context, seat: int) -> None:
    """Refill a seat from the queue; a single remaining dialog becomes current, among several the operator picks."""
    fill_seat(ctx, seat)
    if ctx.tx.current_dialog(seat) is not None:
        return
    remaining = ctx.tx.seat_dialogs(seat)
    if len(remaining) == 1:
        customer = ctx.tx.customer(remaining[0].customer_id)
        ctx.tx.set_current(seat, remaining[0].id)
        ctx.say(ctx.seats.chat_of(seat), texts.CURRENT_SET.format(who=customer.label), customer_id=customer.id)
    elif remaining:
        ctx.say(ctx.seats.chat_of(seat), texts.CHOOSE_CURRENT)


def cmd_history(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    args = core.parse_history_args(msg.args)
    if args is None:
        ctx.say(msg.chat_id, texts.HISTORY_USAGE)
        return
    customer = _find_customer(ctx, msg.chat_id, args.customer_ref)
    if customer is None:
        return
    send_history(ctx, msg.chat_id, customer, args.limit or ctx.config.history_limit)


def send_history(ctx: Context, chat_id: int, customer: Customer, limit: int) -> None:
    """Send a customer's last messages to an operator, split at Telegram's length limit."""
    messages = ctx.tx.history(customer.id, limit)
    if not messages:
        ctx.say(chat_id, texts.HISTORY_EMPTY.format(who=customer.label))
        return
    lines = [texts.HISTORY_HEAD.format(who=customer.label, count=len(messages))]
    lines += [history_line(ctx, m) for m in messages]
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(chat_id, piece), customer_id=customer.id)


def history_line(ctx: Context, message: StoredMessage) -> str:
    """One history line: time, author, and text or "[фото] caption"."""
    when = ctx.local(message.created_at).strftime("%d.%m %H:%M")
    author = {"in": f"{message.author} (клиент)", "note": f"{message.author} ({texts.HISTORY_AUTHOR_NOTE})"}.get(
        message.direction, message.author)
    if message.edit_of is not None:
        author += " (исправлено)"
    return texts.HISTORY_LINE.format(time=when, author=author, body=describe_body(message))


def describe_body(message: StoredMessage) -> str:
    if message.content_type == "text":
        return message.body or ""
    kind = f"[{texts.content_name(message.content_type)}]"
    return f"{kind} {message.body}" if message.body else kind


def cmd_list(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    if msg.args:
        ctx.say(msg.chat_id, texts.LIST_USAGE)
        return
    current = ctx.tx.current_dialog(seat)
    mine = ctx.tx.seat_dialogs(seat)
    queue = ctx.tx.queued_dialogs()
    lines = [texts.LIST_HEAD_MINE.format(count=len(mine))]
    lines += [_list_line(ctx, d, " ← текущий" if current and d.id == current.id else "") for d in mine] or [
        texts.LIST_EMPTY]
    lines.append(texts.LIST_HEAD_QUEUE.format(count=len(queue)))
    lines += [_list_line(ctx, d, "") for d in queue] or [texts.LIST_EMPTY]
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(msg.chat_id, piece))


def _list_line(ctx: Context, dialog: Dialog, current: str) -> str:
    customer = ctx.tx.customer(dialog.customer_id)
    last = ctx.tx.last_message(dialog.id)
    since = dialog.queued_at if dialog.state is DialogState.QUEUED else (last.created_at if last else dialog.opened_at)
    name = customer.label.rsplit(" (#", 1)[0]
    return texts.LIST_LINE.format(id=customer.id, name=name, waited=texts.minutes_text(ctx.now - since),
                                  current=current, last=_short(describe_body(last), LIST_PREVIEW) if last else "")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


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


def _ref_and_rest(args: str) -> tuple[int, str] | None:
    """Read "<id> <anything>" (for /transfer and /note); None if malformed."""
    parts = args.split(maxsplit=1)
    ref = core.parse_customer_ref(parts[0]) if len(parts) == 2 else None
    return None if ref is None else (ref, parts[1].strip())


def cmd_transfer(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    parsed = _ref_and_rest(msg.args)
    if parsed is None:
        ctx.say(msg.chat_id, texts.TRANSFER_USAGE)
        return
    ref, target_name = parsed
    target = int(target_name) if target_name.isascii() and target_name.isdigit() else \
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
    hand_over(ctx, dialog, target, ctx.seats.name_of(seat))
    ctx.say(msg.chat_id, texts.TRANSFER_DONE.format(who=customer.label, name=ctx.seats.name_of(target)),
            customer_id=customer.id)
    after_close(ctx, seat)


def cmd_note(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    parsed = _ref_and_rest(msg.args)
    if parsed is None:
        ctx.say(msg.chat_id, texts.NOTE_USAGE)
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
    if customer is None:
        return
    ctx.tx.set_banned(customer.id, banned)
    ctx.say(msg.chat_id, (texts.BANNED if banned else texts.UNBANNED).format(who=customer.label))
    dialog = ctx.tx.open_dialog(customer.id)
    if banned and dialog is not None:
        ctx.tx.close_dialog(dialog, "banned", ctx.now)  # silently: a banned customer is never answered
        if dialog.state is DialogState.ACTIVE and dialog.seat in ctx.seats.online:
            after_close(ctx, dialog.seat)


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
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(msg.chat_id, piece))


def cmd_canned(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    """/a <number or words>: send that FAQ answer to the current customer."""
    if not msg.args:
        ctx.say(msg.chat_id, texts.CANNED_USAGE)
        return
    entry = ctx.faq.find(msg.args)
    if entry is None:
        ctx.say(msg.chat_id, texts.CANNED_NOT_FOUND)
        return
    dialog = ctx.tx.current_dialog(seat)
    if dialog is None:
        ctx.say(msg.chat_id, texts.NO_CURRENT)
        return
    customer = ctx.tx.customer(dialog.customer_id)
    message_id = ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id, direction="out", author=ctx.seats.name_of(seat),
        author_user_id=msg.sender.user_id, content_type="text", body=entry.answer, file_id=None,
        tg_chat_id=None, tg_message_id=None, relayed=True, now=ctx.now,
    )
    ctx.tx.set_first_response(dialog.id, ctx.now)
    for piece in core.split_text(entry.answer):
        ctx.send(SendText(customer.chat_id, piece), message_id)


def cmd_faq(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    entries = ctx.faq.entries
    if not entries:
        ctx.say(msg.chat_id, texts.FAQ_EMPTY)
        return
    lines = [texts.FAQ_LIST_HEAD] + [f"{e.number}. {e.questions[0]}" for e in entries]
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(msg.chat_id, piece))


def tell_operators(ctx: Context, text: str) -> None:
    """Tell every online operator something (a broken FAQ file, for one)."""
    for seat in ctx.seats.online:
        ctx.say(ctx.seats.chat_of(seat), text)


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
    "a": cmd_canned,
    "faq": cmd_faq,
}


# --- timed duties ------------------------------------------------------------------------

def tick(ctx: Context) -> None:
    """Run the timed duties: finished albums, waiting and unanswered alerts, queue updates, idle seats."""
    for dialog_id in ctx.tx.dialogs_with_unrelayed_albums(ctx.now - ALBUM_QUIET_SECONDS):
        dialog = ctx.tx.dialog(dialog_id)
        if dialog.seat in ctx.seats.online:
            deliver_pending(ctx, dialog, flush_albums=True)
    if ctx.seats.online and ctx.shop_open:
        fill_seats(ctx)  # opening time, a raised limit, dialogs put back at start
    if ctx.seats.online:
        alert_long_waits(ctx)
        remind_unanswered(ctx)
        retell_places(ctx)
    check_idle_seats(ctx)


def alert_long_waits(ctx: Context) -> None:
    for dialog in ctx.tx.dialogs_to_alert_waiting(ctx.now - ctx.config.wait_alert_seconds):
        customer = ctx.tx.customer(dialog.customer_id)
        text = texts.WAIT_ALERT.format(who=customer.label, waited=texts.minutes_text(ctx.now - dialog.queued_at))
        for seat in ctx.seats.online:
            ctx.say(ctx.seats.chat_of(seat), text, dialog_buttons(customer.id, dialog.id, take=texts.BUTTON_TAKE),
                    customer_id=customer.id)
        ctx.tx.mark_wait_alerted(dialog.id)


def remind_unanswered(ctx: Context) -> None:
    for dialog, message in ctx.tx.unanswered_dialogs(ctx.now - ctx.config.unanswered_alert_seconds):
        if dialog.seat not in ctx.seats.online:
            continue
        customer = ctx.tx.customer(dialog.customer_id)
        ctx.say(ctx.seats.chat_of(dialog.seat),
                texts.UNANSWERED_ALERT.format(who=customer.label, waited=texts.minutes_text(ctx.now - message.created_at)),
                dialog_buttons(customer.id, dialog.id, take=texts.BUTTON_MAKE_CURRENT), customer_id=customer.id)
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
        bot_say(ctx, customer, dialog, texts.QUEUE_UPDATE.format(position=position, wait=wait_text(ctx, position)))
        ctx.tx.set_auto_reply_time(customer.id, ctx.now)
        ctx.tx.set_told_position(dialog.id, position)


def check_idle_seats(ctx: Context) -> None:
    if ctx.config.operator_idle_seconds <= 0:
        return
    queue_waiting = ctx.tx.queue_head() is not None
    unanswered = ctx.tx.seats_with_unanswered()
    for row in ctx.tx.seats():  # fresh rows: last_seen_at changes with every operator message
        if row.seat not in ctx.seats.online:
            continue
        waiting = queue_waiting or row.seat in unanswered
        if not waiting and row.idle_asked_at is not None:
            ctx.tx.set_idle_asked(row.seat, None)  # a question about customers long gone does not count
            continue
        step = core.idle_step(row.last_seen_at or 0, row.idle_asked_at, ctx.now, ctx.config.operator_idle_seconds,
                              waiting)
        if step == "ask":
            minutes = core.wait_minutes(ctx.config.operator_idle_seconds)
            ctx.say(row.chat_id, texts.IDLE_QUESTION.format(minutes=minutes), (((texts.BUTTON_HERE, "here"),),))
            ctx.tx.set_idle_asked(row.seat, ctx.now)
        elif step == "logout":
            release_seat(ctx, row.seat)
            ctx.say(row.chat_id, texts.IDLE_LOGGED_OUT)
