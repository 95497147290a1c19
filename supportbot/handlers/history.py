"""What operators read about customers: history and the list of dialogs.

A customer's words are rendered so that no line of them can pose as an operator's note
or another entry (`core.history_entry`).
"""
from __future__ import annotations

from .. import core, texts
from ..core import DialogState, SendText
from ..storage import Customer, Dialog, StoredMessage
from .context import Context

LIST_PREVIEW = 40


def send_history(ctx: Context, chat_id: int, customer: Customer, limit: int, topic_of: int | None = None) -> None:
    """Send a customer's last messages to an operator, split at Telegram's length limit."""
    messages = ctx.tx.history(customer.id, limit)
    if not messages:
        ctx.say(chat_id, texts.HISTORY_EMPTY.format(who=customer.label), topic_of=topic_of)
        return
    lines = [texts.HISTORY_HEAD.format(who=customer.label, count=len(messages))]
    lines += [history_line(ctx, m) for m in messages]
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(chat_id, piece, topic_of=topic_of), customer_id=customer.id)


def history_line(ctx: Context, message: StoredMessage) -> str:
    """One history entry: time, author, and text or "[фото] caption"."""
    when = ctx.local(message.created_at).strftime("%d.%m %H:%M")
    author = {"in": f"{message.author} (клиент)", "note": f"{message.author} ({texts.HISTORY_AUTHOR_NOTE})"}.get(
        message.direction, message.author)
    if message.edit_of is not None:
        author += " (исправлено)"
    return core.history_entry(when, author, describe_body(message))


def describe_body(message: StoredMessage) -> str:
    if message.content_type == "text":
        return message.body or ""
    kind = f"[{texts.content_name(message.content_type)}]"
    return f"{kind} {message.body}" if message.body else kind


def send_list(ctx: Context, seat: int, chat_id: int) -> None:
    """The seat's dialogs (the current one marked) and the queue."""
    current = ctx.tx.current_dialog(seat)
    mine = ctx.tx.seat_dialogs(seat)
    queue = ctx.tx.queued_dialogs()
    lines = [texts.LIST_HEAD_MINE.format(count=len(mine))]
    lines += [_list_line(ctx, d, " ← текущий" if current and d.id == current.id else "") for d in mine] or [
        texts.LIST_EMPTY]
    lines.append(texts.LIST_HEAD_QUEUE.format(count=len(queue)))
    lines += [_list_line(ctx, d, "") for d in queue] or [texts.LIST_EMPTY]
    for piece in core.join_lines_in_pieces(lines):
        ctx.send(SendText(chat_id, piece))


def _list_line(ctx: Context, dialog: Dialog, current: str) -> str:
    customer = ctx.tx.customer(dialog.customer_id)
    last = ctx.tx.last_message(dialog.id)
    since = dialog.queued_at if dialog.state is DialogState.QUEUED else (last.created_at if last else dialog.opened_at)
    name = customer.label.rsplit(" (#", 1)[0]
    return texts.LIST_LINE.format(id=customer.id, name=name, waited=texts.minutes_text(ctx.now - since),
                                  current=current, last=short(describe_body(last), LIST_PREVIEW) if last else "")


def short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
