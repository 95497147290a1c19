"""Relaying messages between a customer and their operator, edits, and flood holds.

Every relayed item names its customer: a header before content that cannot carry a caption,
the header as caption otherwise, a caption too long for a copy sent as text after it.
"""
from __future__ import annotations

from .. import core, texts
from ..core import CopyAlbum, CopyMessage, DialogState, EditMessage, IncomingMessage, SendText
from ..storage import Customer, Dialog, StoredMessage
from . import buttons
from .context import Context

ALBUM_QUIET_SECONDS = 1.5  # album parts arrive as separate updates within a moment of each other


def bot_say(ctx: Context, customer: Customer, dialog: Dialog | None, text: str, buttons: core.Buttons = ()) -> None:
    """Send the bot's own words to a customer and keep them in the history."""
    ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id if dialog else None, direction="bot",
        author=texts.HISTORY_AUTHOR_BOT, author_user_id=None, content_type="text", body=text, file_id=None,
        tg_chat_id=None, tg_message_id=None, relayed=True, now=ctx.now,
    )
    ctx.say(customer.chat_id, text, buttons)


def send_faq_answer(ctx: Context, seat: int, user_id: int, dialog: Dialog, answer: str) -> None:
    """Send an FAQ answer to a dialog's customer as the operator's own message (/a, the suggestion button)."""
    message_id = ctx.tx.add_message(
        customer_id=dialog.customer_id, dialog_id=dialog.id, direction="out", author=ctx.seats.name_of(seat),
        author_user_id=user_id, content_type="text", body=answer, file_id=None,
        tg_chat_id=None, tg_message_id=None, relayed=True, now=ctx.now,
    )
    ctx.tx.set_first_response(dialog.id, ctx.now)
    chat_id = ctx.tx.customer(dialog.customer_id).chat_id
    for piece in core.split_text(answer):
        ctx.send(SendText(chat_id, piece), message_id)


def deliver_pending(ctx: Context, dialog: Dialog, *, flush_albums: bool = False,
                    directions: tuple[str, ...] = ("in", "out")) -> None:
    """Deliver a dialog's undelivered messages in order: customers' to the operator, operators' to the customer.

    An album still arriving (its newest part younger than ALBUM_QUIET_SECONDS and nothing after it)
    waits for `tick`, so that it goes as one album. Messages held by the flood limit wait too.
    """
    customer = ctx.tx.customer(dialog.customer_id)
    pending = [m for m in ctx.tx.unrelayed_messages(dialog.id) if m.direction in directions]
    done: list[int] = []
    for group in _groups(pending):
        first = group[0]
        if (first.media_group_id and group[-1] is pending[-1] and not flush_albums
                and not ctx.tx.album_ready(dialog.id, first.media_group_id, ctx.now - ALBUM_QUIET_SECONDS)):
            break
        if first.direction == "in":
            relay_to_operator(ctx, ctx.seats.chat_of(dialog.seat), customer, group, ctx.topic(dialog.id))
            suggest_faq(ctx, dialog, customer, first)
        else:
            relay_to_customer(ctx, customer, group)
        done += [m.id for m in group]
    ctx.tx.mark_relayed(done)


def suggest_faq(ctx: Context, dialog: Dialog, customer: Customer, message: StoredMessage) -> None:
    """Under a customer's question the FAQ answers only probably: offer the operator that answer in one tap."""
    if message.content_type != "text" or message.edit_of is not None or not message.body or message.tg_message_id is None:
        return
    if ctx.seats.held_by_panel(dialog.seat):
        return  # no chat to show the suggestion in: not counted as suggested either
    verdict = ctx.faq.classify(message.body)
    if verdict.outcome != "likely":
        return
    entry = verdict.entry
    ctx.notify(dialog.seat, customer,
               texts.FAQ_SUGGESTION.format(number=entry.number, question=entry.questions[0], answer=entry.answer),
               buttons.suggestion_buttons(dialog.id, entry), dialog_id=dialog.id)
    ctx.tx.add_faq_event(dialog.id, entry.number, "suggested", ctx.now)


def _groups(messages: list[StoredMessage]) -> list[list[StoredMessage]]:
    """Split messages into single ones and whole albums, in order."""
    groups: list[list[StoredMessage]] = []
    for message in messages:
        if (groups and message.media_group_id and groups[-1][0].media_group_id == message.media_group_id
                and groups[-1][0].direction == message.direction):
            groups[-1].append(message)
        else:
            groups.append([message])
    return groups


def relay_to_operator(ctx: Context, op_chat: int, customer: Customer, group: list[StoredMessage],
                      topic_of: int | None = None) -> None:
    who, first = customer.label, group[0]
    header = texts.RELAY_HEADER.format(who=who)
    send = lambda action: ctx.send(action, first.id, customer.id)  # noqa: E731 - every row names its customer
    if first.edit_of is not None:
        original = ctx.tx.outbox_of_message(first.edit_of, op_chat)
        for piece in core.split_text(texts.EDITED_RELAY.format(who=who, text=first.body or "")):
            send(SendText(op_chat, piece, reply_to_outbox=original, topic_of=topic_of))
        return
    if len(group) > 1:
        send(SendText(op_chat, header, topic_of=topic_of))
        send(CopyAlbum(op_chat, first.tg_chat_id, tuple(m.tg_message_id for m in group), topic_of=topic_of))
        return
    if first.content_type == "text":
        for piece in core.split_text(texts.RELAY_TEXT.format(who=who, text=first.body or "")):
            send(SendText(op_chat, piece, topic_of=topic_of))
        return
    shape = core.relay_shape(first.content_type, header, first.body)
    if shape.header_apart:
        send(SendText(op_chat, header, topic_of=topic_of))
    send(CopyMessage(op_chat, first.tg_chat_id, first.tg_message_id, shape.caption, first.content_type,
                     topic_of=topic_of))
    if shape.caption_text:
        for piece in core.split_text(texts.CAPTION_APART.format(who=who, text=shape.caption_text)):
            send(SendText(op_chat, piece, topic_of=topic_of))


def relay_to_customer(ctx: Context, customer: Customer, group: list[StoredMessage]) -> None:
    first = group[0]
    if len(group) > 1:
        ctx.send(CopyAlbum(customer.chat_id, first.tg_chat_id, tuple(m.tg_message_id for m in group)), first.id)
    else:
        ctx.send(CopyMessage(customer.chat_id, first.tg_chat_id, first.tg_message_id, None, first.content_type),
                 first.id)


def tell_flood_held(ctx: Context, customer: Customer, dialog: Dialog) -> None:
    """Say, at most once a minute, that a customer's messages are being held: to them and to their operator."""
    if customer.flood_warned_at is not None and ctx.now - customer.flood_warned_at < 60:
        return
    bot_say(ctx, customer, dialog, texts.FLOOD_WARNING)
    ctx.tx.set_flood_warned(customer.id, ctx.now)
    if dialog.state is DialogState.ACTIVE and dialog.seat in ctx.seats.online:
        ctx.notify(dialog.seat, customer, texts.FLOOD_HELD_NOTICE.format(who=customer.label), dialog_id=dialog.id)


def tell_holds_to_new_operator(ctx: Context, seat: int, customer: Customer, dialog: Dialog) -> None:
    """A dialog reached an operator (assigned, handed over, seat taken over) while some of its messages are held."""
    if ctx.tx.has_flood_held(customer.id):
        ctx.notify(seat, customer, texts.FLOOD_HELD_NOTICE.format(who=customer.label), dialog_id=dialog.id)


def release_flood_holds(ctx: Context) -> None:
    """Relay what the flood limit held, once its customer has calmed down: texts combined, with the count."""
    limit = ctx.config.flood_max_messages
    for customer_id in ctx.tx.flood_held_customers():
        customer = ctx.tx.customer(customer_id)
        if not core.flood_over(ctx.tx.recent_incoming_count(customer_id, ctx.now - 60, limit + 1), limit):
            continue
        dialog = ctx.tx.open_dialog(customer_id)
        held = ctx.tx.release_flood_held(customer_id)
        if dialog is None or dialog.state is not DialogState.ACTIVE or dialog.seat not in ctx.seats.online:
            continue  # they go with the rest of the dialog's messages when an operator takes it
        live = [m for m in held if m.dialog_id == dialog.id]
        texts_only = [m for m in live if m.content_type == "text" and m.edit_of is None]
        if texts_only:
            op_chat = ctx.seats.chat_of(dialog.seat)
            lines = [texts.FLOOD_RELEASED.format(who=customer.label, count=len(live))]
            lines += [m.body or "" for m in texts_only]
            for piece in core.join_lines_in_pieces(lines):
                ctx.send(SendText(op_chat, piece, topic_of=ctx.topic(dialog.id)),  # already combined: not a relay row
                         customer_id=customer.id)
            ctx.tx.mark_relayed([m.id for m in texts_only])
        deliver_pending(ctx, dialog, flush_albums=True)


def flood_hold(ctx: Context, customer: Customer, dialog: Dialog, msg: IncomingMessage) -> bool:
    """Ask the core whether this message is past the flood limit (an album follows its first part)."""
    limit = ctx.config.flood_max_messages
    recent = ctx.tx.recent_incoming_count(customer.id, msg.date - 60, limit + 1) + 1
    album = ctx.tx.album_first_held(dialog.id, msg.media_group_id) if msg.media_group_id and not msg.edited else None
    return core.hold_for_flood(recent, limit, album)


def store_incoming(ctx: Context, customer: Customer, dialog: Dialog | None, msg: IncomingMessage,
                   *, suppressed: bool, edit_of: int | None = None, flood_held: bool = False) -> int:
    """Keep a customer's message; a suppressed one (banned) is never relayed, a flood-held one later."""
    return ctx.tx.add_message(
        customer_id=customer.id, dialog_id=dialog.id if dialog else None, direction="in",
        author=customer.first_name, author_user_id=customer.tg_user_id, content_type=msg.content_type,
        body=msg.text, file_id=msg.file_id, tg_chat_id=msg.chat_id, tg_message_id=msg.message_id,
        relayed=suppressed, now=ctx.now, media_group_id=None if edit_of else msg.media_group_id, edit_of=edit_of,
        suppressed=suppressed, tg_date=msg.date, flood_held=flood_held,
    )



# --- edits ------------------------------------------------------------------------------

def handle_edit(ctx: Context, msg: IncomingMessage) -> None:
    """A customer's edit reaches the operator marked as such; an operator's edit changes the customer's copy."""
    original = ctx.tx.message_by_telegram_id(msg.chat_id, msg.message_id)
    if original is None:
        return  # not a message of a conversation (a command, or older than the bot)
    customer = ctx.tx.customer(original.customer_id)
    if original.direction == "in":
        _customer_edit(ctx, customer, original, msg)
    elif original.direction == "out":
        _operator_edit(ctx, customer, original, msg)


def _customer_edit(ctx: Context, customer: Customer, original: StoredMessage, msg: IncomingMessage) -> None:
    dialog = ctx.tx.open_dialog(customer.id)
    live = dialog is not None and dialog.id == original.dialog_id and not original.suppressed
    ctx.tx.skip_superseded_edits(original.id)
    held = live and flood_hold(ctx, customer, dialog, msg)
    store_incoming(ctx, customer, dialog if live else None, msg, suppressed=not live or customer.banned,
                   edit_of=original.id, flood_held=held)
    if held:
        tell_flood_held(ctx, customer, dialog)
    elif live and dialog.state is DialogState.ACTIVE:
        deliver_pending(ctx, dialog)


def _operator_edit(ctx: Context, customer: Customer, original: StoredMessage, msg: IncomingMessage) -> None:
    dialog = ctx.tx.dialog(original.dialog_id) if original.dialog_id else None
    editor = ctx.seats.seat_of_user(msg.sender.user_id) if msg.sender else None
    at_seat = dialog.seat if dialog is not None and dialog.state is DialogState.ACTIVE else None
    if not core.edit_allowed(editor, at_seat):
        ctx.say(msg.chat_id, texts.EDIT_NOT_SENT)
        return
    ctx.tx.add_message(
        customer_id=customer.id, dialog_id=original.dialog_id, direction="out", author=original.author,
        author_user_id=msg.sender.user_id, content_type=msg.content_type, body=msg.text, file_id=msg.file_id,
        tg_chat_id=msg.chat_id, tg_message_id=msg.message_id, relayed=True, now=ctx.now, edit_of=original.id,
    )
    target = ctx.tx.outbox_of_message(original.id, customer.chat_id)
    if target is not None and msg.text is not None:
        ctx.send(EditMessage(customer.chat_id, target, msg.text, caption=msg.content_type != "text"))
