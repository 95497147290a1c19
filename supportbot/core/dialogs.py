"""A dialog's life: its states, what moves it, and what each ending means for the operator.

`TRANSITIONS[(state, cause)]` gives the next state; nothing else moves a dialog. The README's
diagram is drawn from this table (`mermaid()`), and a test keeps the two equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DialogState(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    CLOSED = "closed"


class Cause(StrEnum):
    """Why a dialog moves. The value is the close reason stored for endings."""
    WRITES = "writes"          # a customer without an open dialog writes
    ASSIGNED = "assigned"      # a seat with room takes it: automatically, /next, /use, a button
    HANDED_OVER = "handed_over"  # /transfer, or its operator left and another one has room
    REQUEUED = "requeued"      # its operator left (logout, idle, PIN changed) and nobody has room
    DONE = "done"              # the operator closes it (/done, the button)
    BANNED = "banned"          # an operator bans the customer
    BLOCKED = "blocked"        # the customer blocked the bot (my_chat_member, or a 403 on a send)
    BECAME_OPERATOR = "became_operator"  # the customer logged in as an operator (an owner trying the bot alone)


Q, A, C = DialogState.QUEUED, DialogState.ACTIVE, DialogState.CLOSED
TRANSITIONS: dict[tuple[DialogState | None, Cause], DialogState] = {
    (None, Cause.WRITES): Q,
    (Q, Cause.ASSIGNED): A,
    (A, Cause.HANDED_OVER): A,
    (A, Cause.REQUEUED): Q,
    (Q, Cause.DONE): C,
    (A, Cause.DONE): C,
    (Q, Cause.BANNED): C,
    (A, Cause.BANNED): C,
    (Q, Cause.BLOCKED): C,
    (A, Cause.BLOCKED): C,
    (Q, Cause.BECAME_OPERATOR): C,
    (A, Cause.BECAME_OPERATOR): C,
}
ENDINGS = frozenset({Cause.DONE, Cause.BANNED, Cause.BLOCKED, Cause.BECAME_OPERATOR})


class InvalidTransition(Exception):
    """A dialog was asked to move in a way the table does not allow."""


def next_state(state: DialogState | None, cause: Cause) -> DialogState:
    """Return the state a dialog in `state` moves to for `cause`; raise InvalidTransition if it may not."""
    try:
        return TRANSITIONS[(state, cause)]
    except KeyError:
        raise InvalidTransition(f"dialog in {state} cannot move for {cause}") from None


def mermaid() -> str:
    """Draw TRANSITIONS as a Mermaid state diagram (the README shows this text)."""
    lines = ["stateDiagram-v2"]
    for (state, cause), target in TRANSITIONS.items():
        lines.append(f"    {state or '[*]'} --> {target}: {cause}")
    lines.append(f"    {C} --> [*]")
    return "\n".join(lines)


@dataclass(frozen=True)
class Ending:
    """What follows when a dialog ends: who is told what."""
    thank_customer: bool   # the customer gets the closing words (and the rating question)
    tell_operator: bool    # its operator learns it ended without their doing


def ending(cause: Cause, by_its_operator: bool) -> Ending:
    """Decide the follow-ups of a dialog ending for `cause`; `by_its_operator`: its own operator ended it."""
    if cause not in ENDINGS:
        raise InvalidTransition(f"{cause} does not end a dialog")
    return Ending(
        thank_customer=cause is Cause.DONE,
        tell_operator=not by_its_operator,
    )
