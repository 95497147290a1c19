"""Logging in with an operator's PIN, logging out, the session rules and the CSRF token.

A wrong PIN counts against the same limits as /operator in Telegram: each browser's network address
is one account in login_failures (`panel_account`), so someone guessing on the shop's network locks out
only their own address, and every failure counts in login_attempts for the overall limit, which closes
the panel to addresses that never logged in. `login_required` is the one access rule; `check_csrf`
refuses any POST without the token.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for

from .. import core, texts
from .db import hand_to_bot, state, storage

bp = Blueprint("auth", __name__)

# Panel accounts lie in (-(2**41), -(2**40)]: far from any Telegram user's id and from a panel seat's -seat.
PANEL_ACCOUNTS_BELOW = -(2 ** 40)


def panel_account(address: str | None) -> int:
    """The login_failures/operator_accounts id of a browser's network address."""
    digest = hashlib.blake2b((address or "").encode(), digest_size=5).digest()  # 40 bits, no crafted collisions
    return PANEL_ACCOUNTS_BELOW - int.from_bytes(digest, "big")


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf():
    """Refuse a POST whose form does not carry this session's token."""
    if request.method != "POST":
        return None
    sent = request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(400, description="CSRF")
    return None


def load_operator():
    """Put the session's seat into g.seat, dropping a session older than its lifetime."""
    g.seat = None
    seat, since = session.get("seat"), session.get("since")
    if seat is None or since is None:
        return None
    lifetime = _lifetime_seconds()
    if state().clock() - since > lifetime or seat > len(state().config.pins):
        session.clear()
        return None
    g.seat = seat
    return None


def _lifetime_seconds() -> float:
    from flask import current_app

    return current_app.permanent_session_lifetime.total_seconds()


def login_required(view):
    """Let only a logged-in operator see the view; others go to the login page."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.seat is None:
            if request.headers.get("X-Panel-Poll"):
                abort(401)
            return redirect(url_for("auth.login"))
        return view(**kwargs)
    return wrapped


def seat_for_pin(pins: tuple[str, ...], pin: str) -> int | None:
    """The seat of a PIN, compared in constant time."""
    found = None
    for number, known in enumerate(pins, start=1):
        if hmac.compare_digest(known.encode(), pin.encode()):
            found = number
    return found


def try_login(pin: str) -> tuple[int | None, str]:
    """Check a PIN under the /operator limits; (seat, "") or (None, why)."""
    now = state().clock()
    account = panel_account(request.remote_addr)
    with storage().transaction() as tx:
        failures, locked_until = tx.login_failures(account)
        locked = core.login_locked_for(failures, locked_until, now)
        if locked:
            return None, texts.LOGIN_LOCKED.format(minutes=core.wait_minutes(locked))
        recent = tx.login_failures_since(now - core.GLOBAL_WINDOW_SECONDS)
        if core.login_closed_to_newcomers(recent) and not tx.held_a_seat(account):
            return None, texts.LOGIN_CLOSED
        seat = seat_for_pin(state().config.pins, pin)
        if seat is not None:
            tx.set_login_failures(account, 0, None)
            tx.remember_operator(account)
            return seat, ""
        failures, locked_until = core.after_failed_login(failures, now)
        tx.set_login_failures(account, failures, locked_until)
        tx.count_login_failure(account, now)
        attack = core.login_attack_begins(recent)
        if attack:  # the bot tells the operators on line, as for /operator in Telegram
            tx.add_panel_action({"kind": "login_attack"}, now)
    if attack:
        state().wake()
    if locked_until is not None:
        return None, texts.LOGIN_LOCKED.format(minutes=core.wait_minutes(locked_until - now))
    return None, texts.LOGIN_WRONG.format(left=core.LOGIN_MAX_FAILURES - failures)


@bp.route("/login", methods=("GET", "POST"))
def login():
    error = ""
    if request.method == "POST":
        seat, error = try_login(request.form.get("pin", "").strip())
        if seat is not None:
            session.clear()
            session.permanent = True
            session.update(seat=seat, since=state().clock(), csrf=secrets.token_urlsafe(32))
            return redirect(url_for("queue.index"))
    return render_template("login.html", error=error), (200 if not error else 403)


@bp.post("/logout")
def logout():
    if g.seat is not None:  # a seat on line through the panel leaves the line with it (the bot checks which)
        hand_to_bot({"kind": "offline", "seat": g.seat})
    session.clear()
    return redirect(url_for("auth.login"))
