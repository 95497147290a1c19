"""Waiting customers and quiet operators: seat choice, wait estimates, retelling places, flood, idle seats."""
from __future__ import annotations

import math
from dataclasses import dataclass

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


def hold_for_flood(messages_last_minute: int, limit: int, album_first_held: bool | None = None) -> bool:
    """Hold a customer's message past the per-minute limit (edits count too).

    An album part follows its album's first part (`album_first_held`), so an album is never split.
    """
    if album_first_held is not None:
        return album_first_held
    return messages_last_minute > limit


def flood_over(messages_last_minute: int, limit: int) -> bool:
    """Tell whether a customer has calmed down enough for their held messages to go out."""
    return messages_last_minute <= limit


def idle_step(last_seen_at: float, asked_at: float | None, now: float, idle_seconds: float,
              has_waiting_customers: bool) -> str | None:
    """Decide about a quiet operator: "ask" whether they are there, "logout", or None."""
    if idle_seconds <= 0 or not has_waiting_customers:
        return None
    if asked_at is not None and asked_at >= last_seen_at:
        return "logout" if now - asked_at >= idle_seconds else None
    return "ask" if now - last_seen_at >= idle_seconds else None


# A seat on line through the web panel leaves the line when no page of the panel has asked for news this
# long (its pages ask every 1.5 s while open; a hidden browser tab at least once a minute).
PANEL_AWAY_SECONDS = 120


def panel_seat_away(seen_at: float | None, now: float) -> bool:
    """Tell whether a seat held by the web panel was left: the browser closed, the session expired, or the
    panel or the bot restarted (sessions do not survive that)."""
    return seen_at is None or now - seen_at >= PANEL_AWAY_SECONDS
