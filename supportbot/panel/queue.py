"""The queue page: who waits and every open dialog by seat, refreshed by panel.js from a fragment."""
from __future__ import annotations

from flask import Blueprint, g, render_template

from .auth import login_required
from .db import state, storage

bp = Blueprint("queue", __name__)


def _live() -> dict:
    faq = state().faq()
    with storage().reading() as tx:
        queued = tx.queue_rows()
        active = tx.active_rows()
        seats = {row.seat: row for row in tx.seats() if row.tg_user_id is not None}
    for place, row in enumerate(queued, start=1):
        row["place"] = place
        verdict = faq.classify(row["first_words"]) if row["first_words"] else None
        row["suggestion"] = verdict.entry if verdict is not None and verdict.outcome != "none" else None
    return {"queued": queued, "active": active, "seats": seats, "my_seat": g.seat}


@bp.route("/")
@login_required
def index():
    return render_template("queue.html", **_live())


@bp.route("/live/queue")
@login_required
def fragment():
    return render_template("queue_live.html", **_live())
