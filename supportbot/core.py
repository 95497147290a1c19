"""The pure core: what happens in the shop, with no I/O.

Nothing here imports telebot, sqlite3 or os.environ, reads a clock or a file:
events come in as plain dataclasses, decisions go out as values, and time is
passed in. The dialog state machine lives here and only here.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
HISTORY_MAX = 200
LOGIN_MAX_FAILURES = 5
LOGIN_LOCK_SECONDS = 15 * 60


# --- people and events (what the Telegram adapter produces) -----------------

@dataclass(frozen=True)
class Person:
    user_id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class IncomingMessage:
    chat_id: int
    chat_type: str
    message_id: int
    sender: Person | None
    date: int
    content_type: str
    text: str | None = None  # text, or the caption of a media message
    file_id: str | None = None
    command: str | None = None  # "next" for "/next@shop_bot 3"
    args: str = ""
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    edited: bool = False


@dataclass(frozen=True)
class MembershipChange:
    chat_id: int
    chat_type: str
    user: Person | None
    status: str  # member, kicked, left, administrator …


@dataclass(frozen=True)
class DeliveryFailure:
    """The sender could not deliver an outbox row; `blocked` means 403."""
    chat_id: int
    outbox_id: int
    blocked: bool
    error: str


@dataclass(frozen=True)
class ButtonPress:
    """An inline button pressed under one of the bot's messages."""
    callback_id: str
    sender: Person | None
    chat_id: int
    message_id: int | None
    data: str


Event = IncomingMessage | MembershipChange | DeliveryFailure | ButtonPress


# --- what the bot does (stored in the outbox, performed by the sender) ------

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


@dataclass(frozen=True)
class SendText:
    chat_id: int
    text: str
    buttons: Buttons = ()
    reply_to_outbox: int | None = None  # answer under the message that outbox row produced, if it still exists


@dataclass(frozen=True)
class CopyMessage:
    chat_id: int
    from_chat_id: int
    message_id: int
    caption: str | None = None
    content_type: str = ""  # for a readable stand-in when the copy is refused


@dataclass(frozen=True)
class CopyAlbum:
    chat_id: int
    from_chat_id: int
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class EditMessage:
    """Edit the text (or caption) of the message an earlier outbox row produced."""
    chat_id: int
    target_outbox: int
    text: str
    caption: bool = False


@dataclass(frozen=True)
class RemoveButtons:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class AnswerButton:
    chat_id: int
    callback_id: str
    text: str = ""


@dataclass(frozen=True)
class DeleteMessage:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class SetCommands:
    chat_id: int  # 0 with scope "all_private_chats": the menu every private chat sees
    commands: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # empty: remove the menu
    scope: str = "chat"


@dataclass(frozen=True)
class LeaveChat:
    chat_id: int


Action = (SendText | CopyMessage | CopyAlbum | EditMessage | RemoveButtons | AnswerButton | DeleteMessage
          | SetCommands | LeaveChat)


# --- dialogs ----------------------------------------------------------------

class DialogState(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    CLOSED = "closed"


# Every allowed move of a dialog; None is "no dialog yet". See README's diagram.
TRANSITIONS: dict[tuple[DialogState | None, DialogState], str] = {
    (None, DialogState.ACTIVE): "a customer writes and an operator has room",
    (None, DialogState.QUEUED): "a customer writes and every operator is full or away",
    (DialogState.QUEUED, DialogState.ACTIVE): "an operator frees a slot, logs in, /next or /use",
    (DialogState.ACTIVE, DialogState.QUEUED): "the operator logs out and no other operator has room",
    (DialogState.ACTIVE, DialogState.ACTIVE): "/transfer, or the operator logs out and another one has room",
    (DialogState.ACTIVE, DialogState.CLOSED): "/done, or the customer blocks the bot",
    (DialogState.QUEUED, DialogState.CLOSED): "/done on a waiting customer, or the customer blocks the bot",
}


class InvalidTransition(Exception):
    """A dialog was asked to move in a way the state machine does not allow."""


def check_transition(old: DialogState | None, new: DialogState) -> None:
    """Raise InvalidTransition unless old → new is in TRANSITIONS."""
    if (old, new) not in TRANSITIONS:
        raise InvalidTransition(f"dialog cannot go from {old} to {new}")


@dataclass(frozen=True)
class SeatLoad:
    seat: int
    open_dialogs: int
    last_assigned_at: float


def choose_seat(loads: list[SeatLoad], limit: int) -> int | None:
    """Pick the online seat with the fewest open dialogs below `limit` (ties: oldest assignment)."""
    free = [s for s in loads if s.open_dialogs < limit]
    if not free:
        return None
    return min(free, key=lambda s: (s.open_dialogs, s.last_assigned_at, s.seat)).seat


def auto_reply_due(last_reply_at: float | None, now: float, cooldown_seconds: float) -> bool:
    """Tell whether a waiting customer may get another auto-reply now."""
    return last_reply_at is None or now - last_reply_at >= cooldown_seconds


def login_locked_for(failures: int, locked_until: float | None, now: float) -> float:
    """Return the seconds an account is still locked out of /operator (0 if not)."""
    if locked_until is not None and locked_until > now:
        return locked_until - now
    return 0.0


def after_failed_login(failures: int, now: float) -> tuple[int, float | None]:
    """Count one more wrong PIN; lock the account once the limit is reached."""
    failures += 1
    if failures >= LOGIN_MAX_FAILURES:
        return 0, now + LOGIN_LOCK_SECONDS
    return failures, None


def pin_fingerprint(pin: str, salt: str | None = None) -> tuple[str, str]:
    """Return (salt, hash) of a PIN, so a seat can tell later whether its PIN was changed."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt.encode("ascii"), 50_000).hex()
    return salt, digest


def pin_still_valid(pin: str | None, salt: str | None, digest: str | None) -> bool:
    """Tell whether a seat's remembered fingerprint belongs to the PIN now configured for it."""
    if pin is None or not salt or not digest:
        return False
    return hmac.compare_digest(pin_fingerprint(pin, salt)[1], digest)


# --- arguments --------------------------------------------------------------

@dataclass(frozen=True)
class HistoryArgs:
    customer_ref: int
    limit: int | None


def parse_customer_ref(args: str) -> int | None:
    """Read one customer id (short number, "#3", or a Telegram id); None if malformed."""
    parts = args.split()
    if len(parts) != 1:
        return None
    return _positive_int(parts[0].lstrip("#"))


def parse_optional_ref(args: str) -> tuple[bool, int | None]:
    """Read "[id]": (ok, ref); empty args are ok with ref None."""
    if not args.strip():
        return True, None
    ref = parse_customer_ref(args)
    return ref is not None, ref


def parse_history_args(args: str) -> HistoryArgs | None:
    """Read "<id> [limit]" with 1 ≤ limit ≤ 200; None if malformed."""
    parts = args.split()
    if not 1 <= len(parts) <= 2:
        return None
    ref = _positive_int(parts[0].lstrip("#"))
    if ref is None:
        return None
    if len(parts) == 1:
        return HistoryArgs(ref, None)
    limit = _positive_int(parts[1])
    if limit is None or limit > HISTORY_MAX:
        return None
    return HistoryArgs(ref, limit)


def _positive_int(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value > 0 else None


# --- text -------------------------------------------------------------------

def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` characters, preferring line breaks."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n") if rest[cut:cut + 1] == "\n" else rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


def join_lines_in_pieces(lines: list[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Pack lines into as few messages of at most `limit` characters as possible."""
    pieces: list[str] = []
    current = ""
    for line in lines:
        for part in split_text(line, limit):
            candidate = f"{current}\n{part}" if current else part
            if len(candidate) > limit:
                pieces.append(current)
                current = part
            else:
                current = candidate
    if current:
        pieces.append(current)
    return pieces


def describe_person(first_name: str, username: str | None, short_id: int, last_name: str | None = None) -> str:
    """Name a customer for operators: "Анна Иванова @anna (#3)"."""
    name = " ".join(p for p in (first_name, last_name) if p) or "без имени"
    handle = f" @{username}" if username else ""
    return f"{name}{handle} (#{short_id})"


def relay_caption(header: str, caption: str | None) -> tuple[str, bool]:
    """Caption for a relayed media message: (caption, header_sent_separately)."""
    combined = f"{header}\n{caption}" if caption else header
    if len(combined) <= CAPTION_LIMIT:
        return combined, False
    return caption or "", True


def wait_minutes(seconds: float) -> int:
    """Round a wait up to whole minutes."""
    return max(0, math.ceil(seconds / 60))


# --- waiting, flooding, idling, statistics ------------------------------------------

DEFAULT_DIALOG_SECONDS = 10 * 60


def estimate_wait(position: int, slots: int, average_dialog_seconds: float | None) -> float | None:
    """Estimate a queued customer's wait: ⌈place ÷ slots⌉ × average dialog length (None without slots)."""
    if slots <= 0:
        return None
    return math.ceil(position / slots) * (average_dialog_seconds or DEFAULT_DIALOG_SECONDS)


def should_retell_place(told_position: int | None, position: int, last_told_at: float | None, queued_at: float,
                        now: float, cooldown_seconds: float) -> bool:
    """Tell a waiting customer their place again: it halved, or 15 minutes passed; never within the cooldown."""
    if last_told_at is not None and now - last_told_at < max(cooldown_seconds, 60):
        return False
    if told_position is not None and position <= told_position // 2:
        return True
    return now - (last_told_at or queued_at) >= 15 * 60


def flood_exceeded(messages_last_minute: int, limit: int) -> bool:
    """Tell whether a customer's latest message is over the per-minute limit."""
    return messages_last_minute > limit


def idle_step(last_seen_at: float, asked_at: float | None, now: float, idle_seconds: float,
              has_waiting_customers: bool) -> str | None:
    """Decide about a quiet operator: "ask" whether they are there, "logout", or None."""
    if idle_seconds <= 0 or not has_waiting_customers:
        return None
    if asked_at is not None and asked_at >= last_seen_at:
        return "logout" if now - asked_at >= idle_seconds else None
    return "ask" if now - last_seen_at >= idle_seconds else None


def percentile(values: list[float], share: float) -> float | None:
    """Return the nearest-rank percentile (share 0.5 = median) of values, None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class DialogFacts:
    """One dialog as statistics see it."""
    operator: str | None
    opened_at: float
    assigned_at: float | None
    first_response_at: float | None
    closed_at: float | None
    rating: int | None


@dataclass(frozen=True)
class StatsLine:
    who: str | None  # None: all operators
    opened: int
    closed: int
    wait_p50: float | None
    wait_p90: float | None
    first_p50: float | None
    first_p90: float | None
    rating: float | None


def summarize(dialogs: list[DialogFacts]) -> list[StatsLine]:
    """Per-operator and total statistics of a period's dialogs (the total last)."""
    groups: dict[str | None, list[DialogFacts]] = {}
    for facts in dialogs:
        if facts.operator:
            groups.setdefault(facts.operator, []).append(facts)
    lines = [_stats_line(name, group) for name, group in sorted(groups.items())]
    lines.append(_stats_line(None, dialogs))
    return lines


def _stats_line(who: str | None, dialogs: list[DialogFacts]) -> StatsLine:
    waits = [d.assigned_at - d.opened_at for d in dialogs if d.assigned_at is not None]
    firsts = [d.first_response_at - d.assigned_at for d in dialogs
              if d.first_response_at is not None and d.assigned_at is not None]
    ratings = [d.rating for d in dialogs if d.rating is not None]
    return StatsLine(
        who=who, opened=len(dialogs), closed=sum(d.closed_at is not None for d in dialogs),
        wait_p50=percentile(waits, 0.5), wait_p90=percentile(waits, 0.9),
        first_p50=percentile(firsts, 0.5), first_p90=percentile(firsts, 0.9),
        rating=sum(ratings) / len(ratings) if ratings else None,
    )


def parse_button(data: str) -> tuple[str, tuple[int, ...]] | None:
    """Read callback data "take:12" / "rate:45:5" into (verb, numbers); None if malformed."""
    verb, _, rest = data.partition(":")
    numbers = tuple(_positive_int(p) for p in rest.split(":")) if rest else ()
    if not verb.isalpha() or any(n is None for n in numbers):
        return None
    return verb, numbers
