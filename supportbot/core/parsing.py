"""Reading what operators type and what buttons carry: ids, limits, callback data."""
from __future__ import annotations

from dataclasses import dataclass

HISTORY_MAX = 200
ID_MAX = 2 ** 63 - 1  # the largest integer the database holds


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
    return value if 0 < value <= ID_MAX else None



def parse_button(data: str) -> tuple[str, tuple[int, ...]] | None:
    """Read callback data "take:12" / "rate:45:5" into (verb, numbers); None if malformed."""
    verb, _, rest = data.partition(":")
    numbers = tuple(_positive_int(p) for p in rest.split(":")) if rest else ()
    if not verb.isalpha() or any(n is None for n in numbers):
        return None
    return verb, numbers


def args_in_topic(command: str, args: str, customer_ref: int) -> str:
    """The arguments a command means inside a customer's topic: that customer, unless the operator names another.

    `/done`, `/ban`, `/unban`, `/history` alone act on the topic's customer; `/note текст` is a note about
    them; `/transfer 2` hands them to line 2. Anything else is read as written.
    """
    words = args.split()
    if command in ("done", "ban", "unban", "history") and not words:
        return str(customer_ref)
    if command == "note" and words:
        return f"{customer_ref} {args}"
    if command == "transfer" and len(words) == 1:
        return f"{customer_ref} {args}"
    return args
