"""Where an operator's words go, and which dialog is current.

The rule that keeps one customer's words from another: an operator's plain message goes to
the dialog that was current right after that operator's previous action, and only if it is
still current now (a dialog assigned automatically while they wrote to nobody counts as theirs:
`focus_after_assign`). Anything else is held and the operator is asked. A reply goes to the
customer of the message replied to, while that dialog is still theirs.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeatView:
    """A seat as routing sees it."""
    current: int | None          # the current dialog now
    acknowledged: int | None     # the dialog that was current right after the operator's previous action
    open_dialogs: tuple[int, ...]


@dataclass(frozen=True)
class ReplyTarget:
    """What an operator's reply points at."""
    dialog_id: int | None        # the customer's open dialog, if any
    mine: bool                   # that dialog is active at this seat
    known: bool                  # the replied-to message belongs to a customer at all


@dataclass(frozen=True)
class TopicTarget:
    """The topic an operator wrote in (topics mode): whose dialog it is."""
    dialog_id: int | None        # the open dialog this topic belongs to, None if it belongs to none now
    mine: bool                   # that dialog is active at this seat


@dataclass(frozen=True)
class Deliver:
    dialog_id: int


@dataclass(frozen=True)
class Hold:
    """Do not send; give the message back with a choice. `why`: none, changed, unknown_reply."""
    why: str


@dataclass(frozen=True)
class Refuse:
    """Do not send and offer no choice: the customer replied to is no longer this operator's."""
    why: str


Route = Deliver | Hold | Refuse


def route_operator_message(seat: SeatView, reply: ReplyTarget | None, *, topics: bool = False,
                           topic: TopicTarget | None = None) -> Route:
    """Decide where an operator's message goes.

    A reply goes to the customer replied to, in either mode. In topics mode a message goes to the
    customer of the topic it was written in, and one written outside any customer's topic (General)
    goes nowhere until the operator chooses. In the classic mode it goes to the current dialog.
    """
    if reply is not None:
        if not reply.known:
            return Hold("unknown_reply")
        if reply.dialog_id is None or not reply.mine:
            return Refuse("gone")
        return Deliver(reply.dialog_id)
    if topics:
        if topic is None:
            return Hold("general")
        if topic.dialog_id is None or not topic.mine:
            return Refuse("topic_closed")
        return Deliver(topic.dialog_id)
    if seat.current is None:
        return Hold("none")
    if seat.current != seat.acknowledged:
        return Hold("changed")
    return Deliver(seat.current)


def focus_after_assign(seat: SeatView, dialog_id: int, *, chosen: bool) -> tuple[int | None, int | None]:
    """(current, acknowledged) after a dialog is assigned to the seat.

    An operator's choice makes it current. An automatic assignment makes it current only when nothing
    was current after the operator's previous action and nothing is now; then the operator, who was
    writing to nobody, is taken to be writing to this customer (the notice tells them so), so that
    their words reach it, and a later ending of it holds their words instead of passing them on.
    """
    if chosen:
        return dialog_id, seat.acknowledged
    if seat.acknowledged is None and seat.current is None:
        return dialog_id, dialog_id
    return seat.current, seat.acknowledged


def current_after_end(seat: SeatView, ended: int, *, by_its_operator: bool) -> int | None:
    """The current dialog after `ended` left the seat (closed, banned, blocked, transferred).

    Only the operator's own action may choose a new current dialog: after their own /done or
    /transfer, the one dialog left becomes current. Otherwise nothing is current until they choose.
    """
    if seat.current != ended:
        return seat.current
    remaining = [d for d in seat.open_dialogs if d != ended]
    if by_its_operator and len(remaining) == 1:
        return remaining[0]
    return None


def edit_allowed(editor_seat: int | None, dialog_open_at_seat: int | None) -> bool:
    """An operator's edit reaches the customer only from an account logged in now, in a dialog still theirs."""
    return editor_seat is not None and dialog_open_at_seat == editor_seat
