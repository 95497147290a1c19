"""The panel's database access: one Storage per request, opened on first use, closed at teardown."""
from __future__ import annotations

from flask import current_app, g

from ..storage import Storage


def state():
    """The PanelState of the running app."""
    return current_app.extensions["supportbot"]


def storage() -> Storage:
    """This request's connection to the bot's database."""
    if "storage" not in g:
        g.storage = Storage(state().config.database)
    return g.storage


def hand_to_bot(action: dict) -> None:
    """Put an action into the bot's inbox and wake its processor."""
    with storage().transaction() as tx:
        tx.add_panel_action(action, state().clock())
    state().wake()
