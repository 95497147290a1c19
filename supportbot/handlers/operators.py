"""The operator's side: logging in, and where their messages go.

Where a message goes is the core's decision (`core.route_operator_message`); a message the
core holds is kept and given back with a button per open dialog.
"""
from __future__ import annotations

from dataclasses import replace

from .. import core, texts
from ..core import ButtonPress, Cause, DeleteMessage, IncomingMessage, SetCommands
from ..storage import Dialog
from . import buttons, commands, dialogs, relay, topics
from .context import Context

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
    ("report", "Отчёт: /report today|yesterday|week"),
    ("ban", "Заблокировать клиента: /ban id"),
    ("unban", "Разблокировать: /unban id"),
    ("logout", "Выйти"),
    ("help", "Справка"),
)


def operator_login(ctx: Context, msg: IncomingMessage, pin: str | None) -> None:
    """/operator <PIN> (typos and all): take a seat; the PIN message is deleted at once."""
    tx, user, chat = ctx.tx, msg.sender, msg.chat_id
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
    recent = tx.login_failures_since(ctx.now - core.GLOBAL_WINDOW_SECONDS)
    if core.login_closed_to_newcomers(recent) and not tx.held_a_seat(user.user_id):
        ctx.say(chat, texts.LOGIN_CLOSED)
        return
    seat = ctx.seats.seat_for_pin(pin)
    if seat is None:
        _wrong_pin(ctx, msg, failures, recent)
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
    tx.remember_operator(user.user_id)
    ctx.seats.load(tx.seats())
    ctx.say(chat, texts.LOGIN_OK.format(seat=seat, limit=ctx.config.operator_chat_limit))
    ctx.send(SetCommands(chat, OPERATOR_COMMANDS))
    _close_own_dialog(ctx, user.user_id, chat)
    for dialog in tx.seat_dialogs(seat):  # a seat taken over brings its dialogs, held messages included
        relay.tell_holds_to_new_operator(ctx, seat, tx.customer(dialog.customer_id), dialog)
    dialogs.fill_seat(ctx, seat)


def _close_own_dialog(ctx: Context, user_id: int, chat: int) -> None:
    """An operator who wrote as a customer (an owner trying the bot alone) is never handed themselves."""
    customer = ctx.tx.customer_of_user(user_id)
    dialog = ctx.tx.open_dialog(customer.id) if customer else None
    if dialog is None:
        return
    dialogs.end_dialog(ctx, dialog, Cause.BECAME_OPERATOR)
    ctx.say(chat, texts.OWN_DIALOG_CLOSED.format(number=customer.id))


def _wrong_pin(ctx: Context, msg: IncomingMessage, failures: int, recent: int) -> None:
    failures, locked_until = core.after_failed_login(failures, ctx.now)
    ctx.tx.set_login_failures(msg.sender.user_id, failures, locked_until)
    ctx.tx.count_login_failure(msg.sender.user_id, ctx.now)
    if core.login_attack_begins(recent):
        tell_login_attack(ctx)
    if locked_until is not None:
        ctx.say(msg.chat_id, texts.LOGIN_LOCKED.format(minutes=core.wait_minutes(locked_until - ctx.now)))
    else:
        ctx.say(msg.chat_id, texts.LOGIN_WRONG.format(left=core.LOGIN_MAX_FAILURES - failures))


def tell_login_attack(ctx: Context) -> None:
    """Tell every operator on line that too many wrong PINs closed /operator to newcomers."""
    for seat in ctx.seats.online:
        ctx.say(ctx.seats.chat_of(seat), texts.LOGIN_ATTACK)


def operator_message(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    """An operator's command, or an answer for a customer; inside a customer's topic, commands act on them."""
    if msg.content_type.startswith("topic_"):
        topics.service_message(ctx, seat, msg)
        return
    if msg.command is None:
        forward_to_customer(ctx, seat, msg)
        return
    command = commands.OPERATOR_HANDLERS.get(msg.command)
    if command is None:
        ctx.say(msg.chat_id, texts.UNKNOWN_COMMAND)
        return
    customer = topics.topic_customer(ctx, msg)
    if customer is not None:
        msg = replace(msg, args=core.args_in_topic(msg.command, msg.args, customer.id))
    command(ctx, seat, msg)


def forward_to_customer(ctx: Context, seat: int, msg: IncomingMessage) -> None:
    """Send an operator's message where the core says: the replied-to customer, the current one, or nowhere yet."""
    reply = _reply_target(ctx, seat, msg) if msg.reply_to_message_id is not None else None
    route = core.route_operator_message(ctx.seat_view(seat), reply, topics=ctx.topics,
                                        topic=topics.topic_target(ctx, seat, msg) if ctx.topics else None)
    if isinstance(route, core.Deliver):
        _send_to_dialog(ctx, seat, ctx.tx.dialog(route.dialog_id), msg.sender.user_id,
                        [(msg.content_type, msg.text, msg.file_id, msg.chat_id, msg.message_id, msg.media_group_id)],
                        flush_albums=False)
    elif isinstance(route, core.Refuse) and route.why == "topic_closed":
        ctx.say(msg.chat_id, texts.TOPIC_CLOSED, topic_of=None)
    elif isinstance(route, core.Refuse):
        customer = ctx.tx.customer(ctx.tx.customer_of_sent_message(msg.chat_id, msg.reply_to_message_id)
                                   or _own_answer_customer(ctx, msg))
        ctx.say(msg.chat_id, texts.REPLY_TARGET_GONE.format(who=customer.label if customer else "клиентом"))
    else:
        _hold(ctx, seat, msg, route.why)


def _send_to_dialog(ctx: Context, seat: int, dialog: Dialog, user_id: int, parts: list[tuple], *,
                    flush_albums: bool) -> None:
    """Store an operator's message parts (content type, body, file, chat, message, album) in a dialog and relay them."""
    for content_type, body, file_id, chat_id, message_id, media_group_id in parts:
        ctx.tx.add_message(
            customer_id=dialog.customer_id, dialog_id=dialog.id, direction="out", author=ctx.seats.name_of(seat),
            author_user_id=user_id, content_type=content_type, body=body, file_id=file_id, tg_chat_id=chat_id,
            tg_message_id=message_id, relayed=False, now=ctx.now, media_group_id=media_group_id,
        )
    ctx.tx.set_first_response(dialog.id, ctx.now)
    relay.deliver_pending(ctx, dialog, flush_albums=flush_albums)


def _hold(ctx: Context, seat: int, msg: IncomingMessage, why: str) -> None:
    """Keep a message the core would not send, and ask the operator where it should go."""
    first_part = not (msg.media_group_id and ctx.tx.held_album_part(seat, msg.media_group_id))
    held_id = ctx.tx.hold_message(
        seat=seat, tg_user_id=msg.sender.user_id, author=ctx.seats.name_of(seat), content_type=msg.content_type,
        body=msg.text, file_id=msg.file_id, tg_chat_id=msg.chat_id, tg_message_id=msg.message_id,
        media_group_id=msg.media_group_id, now=ctx.now)
    if not first_part:
        return  # one question per album
    text = {"none": texts.HELD_NONE, "changed": texts.HELD_CHANGED, "general": texts.HELD_GENERAL}.get(
        why, texts.HELD_UNKNOWN_REPLY)
    if not ctx.tx.seat_dialogs(seat):
        text += texts.HELD_NO_DIALOGS
    ctx.say(msg.chat_id, text, buttons.held_buttons(ctx, seat, held_id))


def send_held(ctx: Context, seat: int, press: ButtonPress, held_id: int, dialog_id: int) -> str:
    """The operator chose where a held message goes: send it there and make that dialog current."""
    group = ctx.tx.held_group(held_id)
    dialog = ctx.tx.dialog(dialog_id)
    if not group or group[0].seat != seat or group[0].tg_user_id != press.sender.user_id:
        return texts.BUTTON_STALE
    if dialog is None or dialog.state is not core.DialogState.ACTIVE or dialog.seat != seat:
        return texts.BUTTON_STALE
    ctx.tx.settle_held([h.id for h in group], "sent")
    _send_to_dialog(ctx, seat, dialog, press.sender.user_id,
                    [(h.content_type, h.body, h.file_id, h.tg_chat_id, h.tg_message_id, h.media_group_id)
                     for h in group], flush_albums=True)
    ctx.tx.set_current(seat, dialog.id)
    customer = ctx.tx.customer(dialog.customer_id)
    if press.message_id is not None:
        ctx.send(core.RemoveButtons(press.chat_id, press.message_id))
    ctx.notify(seat, customer, texts.HELD_SENT.format(who=customer.label) + " "
               + texts.CURRENT_SET.format(who=customer.label))
    return ""


def drop_held(ctx: Context, seat: int, press: ButtonPress, held_id: int) -> str:
    group = ctx.tx.held_group(held_id)
    if not group or group[0].seat != seat or group[0].tg_user_id != press.sender.user_id:
        return texts.BUTTON_STALE
    ctx.tx.settle_held([h.id for h in group], "dropped")
    if press.message_id is not None:
        ctx.send(core.RemoveButtons(press.chat_id, press.message_id))
    return texts.HELD_DROPPED


def _own_answer_customer(ctx: Context, msg: IncomingMessage) -> int | None:
    own = ctx.tx.message_by_telegram_id(msg.chat_id, msg.reply_to_message_id)
    return own.customer_id if own is not None and own.direction == "out" else None


def _reply_target(ctx: Context, seat: int, msg: IncomingMessage) -> core.ReplyTarget:
    """What a reply points at: a customer (by a relayed message or the operator's own answer) and their dialog."""
    customer_id = ctx.tx.customer_of_sent_message(msg.chat_id, msg.reply_to_message_id) \
        or _own_answer_customer(ctx, msg)
    if customer_id is None:
        return core.ReplyTarget(dialog_id=None, mine=False, known=False)
    dialog = ctx.tx.open_dialog(customer_id)
    mine = dialog is not None and dialog.state is core.DialogState.ACTIVE and dialog.seat == seat
    return core.ReplyTarget(dialog_id=dialog.id if dialog else None, mine=mine, known=True)

