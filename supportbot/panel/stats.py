"""The statistics page: per day and per operator, as SVG bar charts drawn on the server and a table."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, render_template, request

from .. import core
from . import charts
from .auth import login_required
from .db import state, storage
from .format import local

bp = Blueprint("stats", __name__)


@bp.route("/stats")
@login_required
def page():
    days = request.args.get("days", "14")
    days = int(days) if days.isdigit() and 1 <= int(days) <= 90 else 14
    now = local(state().clock())
    first_day = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), now.tzinfo).timestamp()
    with storage().reading() as tx:
        dialogs = tx.dialog_facts(since)
        faq_events = tx.faq_events_since(since)
    day_lines = charts.per_day(dialogs, faq_events, first_day, days, state().config.timezone)
    operators = core.summarize(dialogs)
    day_bars = charts.bars([(d.day.strftime("%d.%m"), d.line.opened, f"{d.day:%d.%m}: {d.line.opened}")
                            for d in day_lines])
    operator_bars = charts.bars([(line.who, line.opened, f"{line.who}: {line.opened}")
                                 for line in operators[:-1]])
    wait_bars = charts.bars([(d.day.strftime("%d.%m"), (d.line.wait_p50 or 0) / 60,
                              f"{d.day:%d.%m}: {(d.line.wait_p50 or 0) / 60:.1f} мин") for d in day_lines])
    return render_template("stats.html", days=days, day_lines=day_lines, operators=operators,
                           day_bars=day_bars, operator_bars=operator_bars, wait_bars=wait_bars,
                           width=charts.CHART_WIDTH, height=charts.CHART_HEIGHT)
