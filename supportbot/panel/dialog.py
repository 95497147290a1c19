"""A customer's page: the whole history (refreshed live), reply, canned answers, note, take, close, transfer.

Actions are not applied here: they go to the bot's inbox (db.hand_to_bot) and the processor applies
them as the seat's operator, exactly as the same command from Telegram.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from ..handlers.panel import CUSTOMER_KINDS
from .auth import login_required
from .db import hand_to_bot, note_presence, seats_on_line, state, storage

bp = Blueprint("dialog", __name__)

MAX_TEXT = 4000


def _customer_view(customer_id: int) -> dict:
    with storage().reading() as tx:
        customer = tx.customer(customer_id)
        if customer is None:
            abort(404)
        messages = tx.customer_messages(customer_id)
        dialogs = tx.customer_dialogs(customer_id)
        open_dialog = tx.open_dialog(customer_id)
        seats = seats_on_line(tx)
    note_presence(seats)
    return {"customer": customer, "messages": messages, "dialogs": {d["id"]: d for d in dialogs},
            "open_dialog": open_dialog, "seats": seats, "my_seat": g.seat}


@bp.route("/customer/<int:customer_id>")
@login_required
def page(customer_id: int):
    return render_template("dialog.html", faq_entries=state().faq().entries, **_customer_view(customer_id))


@bp.route("/live/customer/<int:customer_id>")
@login_required
def fragment(customer_id: int):
    return render_template("dialog_live.html", **_customer_view(customer_id))


@bp.post("/customer/<int:customer_id>/action")
@login_required
def action(customer_id: int):
    kind = request.form.get("kind", "")
    text = request.form.get("text", "").strip()
    if kind not in CUSTOMER_KINDS or len(text) > MAX_TEXT:
        abort(400)
    if kind in ("reply", "note") and not text:
        flash("Пустой текст не отправлен.")
        return redirect(url_for("dialog.page", customer_id=customer_id))
    payload = {"kind": kind, "seat": g.seat, "customer_id": customer_id, "text": text}
    for key in ("target_seat", "entry"):
        value = request.form.get(key, "").strip()
        if value:
            if not value.isdigit():
                abort(400)
            payload[key] = int(value)
    hand_to_bot(payload)
    flash("Передано боту: появится в истории через секунду.")
    return redirect(request.form.get("back") == "queue" and url_for("queue.index")
                    or url_for("dialog.page", customer_id=customer_id))
