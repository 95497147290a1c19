"""Fitting into Telegram's limits: token buckets, and a backlog of relayed texts combined into fewer messages.

Pure: no I/O, time is passed in.
"""
from __future__ import annotations

from dataclasses import dataclass

from .storage import OutboxRow

MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units


class TokenBucket:
    """A rate limit with bursts; time is passed in."""

    def __init__(self, rate: float, capacity: float, now: float):
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = capacity, now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass(frozen=True)
class Relay:
    """A pending row that relays a customer's text as written: header line, then the text."""
    customer_id: int
    header: str
    body: str


def relay_of(row: OutboxRow, customer_id: int, body: str) -> Relay | None:
    """The row as a relayed text (header, then the customer's text as written), or None if it is anything else."""
    text = row.payload.get("text")
    if (row.kind != "SendText" or row.payload.get("buttons") or row.payload.get("reply_to_outbox") is not None
            or not isinstance(text, str) or not body or not text.endswith("\n" + body)):
        return None
    header = text[: -len(body) - 1]
    if not header or "\n" in header:
        return None
    return Relay(customer_id, header, body)


def combine(rows: list[OutboxRow], relays: dict[int, Relay]) -> tuple[list[OutboxRow], str]:
    """The head customer's relayed texts from the run at the head of a chat's queue, as one text.

    The head must be a relay. Rows of other customers keep their places; a notice, a photo or an album ends
    the run (what follows waits behind it, as it would one by one); rows for another topic are never mixed.
    """
    head = rows[0]
    relay = relays[head.id]
    topic_of = head.payload.get("topic_of")
    taken, text = [head], f"{relay.header}\n{relay.body}"
    for row in rows[1:]:
        other = relays.get(row.id)
        if other is None:
            break
        if (other.customer_id != relay.customer_id or other.header != relay.header
                or row.payload.get("topic_of") != topic_of):
            continue
        longer = f"{text}\n{other.body}"
        if utf16_length(longer) > MAX_TEXT:
            break
        taken.append(row)
        text = longer
    return taken, text


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
