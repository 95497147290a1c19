"""How the panel writes times, durations and people (template filters)."""
from __future__ import annotations

from datetime import datetime

from .. import core, texts
from .db import state


def local(timestamp: float | None) -> datetime | None:
    """A stored UTC time in the shop's zone."""
    if timestamp is None:
        return None
    zone = state().config.timezone
    return datetime.fromtimestamp(timestamp, zone) if zone is not None else datetime.fromtimestamp(timestamp).astimezone()


def when(timestamp: float | None) -> str:
    moment = local(timestamp)
    return moment.strftime("%d.%m.%Y %H:%M") if moment else "—"


def ago(timestamp: float | None) -> str:
    return texts.minutes_text(state().clock() - timestamp) if timestamp is not None else "—"


def person(row) -> str:
    """A customer as operators see them in Telegram: name, @username, #number."""
    return core.describe_person(row["first_name"] or "", row["username"], row["customer_id"], row["last_name"])


def seconds(value: float | None) -> str:
    return texts.seconds_text(value)


def register_filters(app) -> None:
    app.jinja_env.filters.update(when=when, ago=ago, person=person, seconds=seconds)
