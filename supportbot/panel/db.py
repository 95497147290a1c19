"""The panel's database access: one Storage per request, opened on first use, closed at teardown."""
from __future__ import annotations

from flask import current_app, g

from ..storage import SeatRow, Storage


def state():
    """The PanelState of the running app."""
    return current_app.extensions["supportbot"]


def storage() -> Storage:
    """This request's connection to the bot's database."""
    if "storage" not in g:
        g.storage = Storage(state().config.database)
    return g.storage


def seats_on_line(tx) -> dict[int, SeatRow]:
    """The seats someone holds now (in Telegram or through the panel), by number."""
    return {row.seat: row for row in tx.seats() if row.tg_user_id is not None}


def hand_to_bot(action: dict) -> None:
    """Put an action into the bot's inbox and wake its processor."""
    with storage().transaction() as tx:
        tx.add_panel_action(action, state().clock())
    state().wake()


SEEN_EVERY = 30.0  # how often an open page tells the bot that the seat the panel holds is still watched


def note_presence(seats: dict) -> None:
    """When the panel holds this session's seat, tell the bot its page is open (at most every SEEN_EVERY s)."""
    row = seats.get(g.seat)
    if row is None or row.chat_id is not None:
        return
    now, written = state().clock(), state().seen_written
    if now - written.get(g.seat, float("-inf")) < SEEN_EVERY:
        return
    with storage().transaction() as tx:
        tx.mark_panel_seen(g.seat, now)
    written[g.seat] = now
