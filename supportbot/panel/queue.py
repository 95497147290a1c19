"""The queue page: who waits and every open dialog by seat, refreshed by panel.js from a fragment; going on
line from the panel and leaving it."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from ..handlers.panel import SEAT_KINDS
from .auth import login_required
from .db import hand_to_bot, note_presence, seats_on_line, state, storage

bp = Blueprint("queue", __name__)


def _live() -> dict:
    faq = state().faq()
    with storage().reading() as tx:
        queued = tx.queue_rows()
        active = tx.active_rows()
        seats = seats_on_line(tx)
    note_presence(seats)
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


@bp.route("/live/line")
@login_required
def line():
    """The nav's line status; asked for by every page, it also keeps a seat held by the panel on line."""
    with storage().reading() as tx:
        seats = seats_on_line(tx)
    note_presence(seats)
    return render_template("line.html", seats=seats, my_seat=g.seat)


@bp.post("/presence")
@login_required
def presence():
    """Go on line from the panel, or leave the line (the bot applies it like /operator and /logout)."""
    kind = request.form.get("kind", "")
    if kind not in SEAT_KINDS:
        abort(400)
    hand_to_bot({"kind": kind, "seat": g.seat})
    flash("Передано боту: через секунду линия " + ("откроется." if kind == "online" else "закроется."))
    return redirect(url_for("queue.index"))
