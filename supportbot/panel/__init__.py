"""The operators' web panel: a Flask app over the bot's database.

Only a factory lives here: `create_app(config, ...)` builds everything, nothing is built at import
time. The panel reads the database and hands every action to the bot through the inbox (see
storage/panel.py, handlers/panel.py), so the bot's processor stays the one writer of dialogs.
Every page but the login needs a session; every POST needs the session's CSRF token; templates
autoescape, and the Content-Security-Policy allows scripts only from /static.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Callable

from flask import Flask

from ..config import Config

SESSION_HOURS = 12
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
       " form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class PanelState:
    """What every request shares: settings, the FAQ file, how to wake the processor, the clock."""

    def __init__(self, config: Config, wake: Callable[[], None], clock: Callable[[], float]):
        from ..faq import FaqFile

        self.config = config
        self.wake = wake
        self.clock = clock
        self.faq_file = FaqFile(config.faq_path)
        self.faq_lock = threading.Lock()
        self.seen_written: dict[int, float] = {}  # seat -> when this panel last told the bot its page is open

    def faq(self):
        """The FAQ as the bot has it now (re-read when the file changed)."""
        with self.faq_lock:
            self.faq_file.reload_if_changed()
            return self.faq_file.matcher


def create_app(config: Config, *, wake: Callable[[], None] | None = None, secret_key: str | None = None,
               clock: Callable[[], float] = time.time, testing: bool = False) -> Flask:
    """Build the panel for a bot's settings; `wake` tells the processor an action waits in the inbox."""
    import secrets

    from . import auth, dialog, export, faq, queue, search, stats

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_hex(32),  # a new key per start: a restart logs everyone out
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="supportbot_panel",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        TESTING=testing,
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.extensions["supportbot"] = PanelState(config, wake or (lambda: None), clock)
    for blueprint in (auth.bp, queue.bp, dialog.bp, search.bp, stats.bp, faq.bp, export.bp):
        app.register_blueprint(blueprint)
    app.before_request(auth.check_csrf)
    app.before_request(auth.load_operator)
    app.teardown_appcontext(_close_storage)
    app.after_request(_security_headers)
    app.jinja_env.globals.update(csrf_token=auth.csrf_token)
    from .format import register_filters

    register_filters(app)
    return app


def _close_storage(_exc) -> None:
    from flask import g

    storage = g.pop("storage", None)
    if storage is not None:
        storage.close()


def _security_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if not response.headers.get("Cache-Control"):
        response.headers["Cache-Control"] = "no-store"
    return response
