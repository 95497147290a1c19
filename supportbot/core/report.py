"""The daily report's decisions: when it is due, which period a word names, and the day's figures.

Pure: times and facts in, figures out; no I/O, no texts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from .stats import DialogFacts, StatsLine, summarize

LATE_LIMIT = timedelta(hours=3)  # a bot started long after REPORT_TIME does not send a stale report
PERIODS = ("today", "yesterday", "week")


def report_due(local_now: datetime, at: tuple[int, int], last_sent_day: str | None) -> bool:
    """Tell whether today's report is due: REPORT_TIME passed (by less than LATE_LIMIT) and not sent today."""
    moment = datetime.combine(local_now.date(), time(*at), local_now.tzinfo)
    return moment <= local_now < moment + LATE_LIMIT and last_sent_day != local_now.date().isoformat()


def period_bounds(period: str, local_now: datetime) -> tuple[float, float]:
    """(since, until) in Unix seconds for today, yesterday or the last 7 days, in the shop's zone."""
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "yesterday":
        return (midnight - timedelta(days=1)).timestamp(), midnight.timestamp()
    if period == "week":
        return (midnight - timedelta(days=6)).timestamp(), local_now.timestamp()
    return midnight.timestamp(), local_now.timestamp()


@dataclass(frozen=True)
class ReportFigures:
    total: StatsLine
    operators: tuple[StatsLine, ...]
    wait_max: float | None


def report_figures(dialogs: list[DialogFacts], since: float, until: float) -> ReportFigures:
    """The period's figures over the dialogs opened in it: totals, a line per operator, the longest wait."""
    inside = [d for d in dialogs if since <= d.opened_at < until]
    lines = summarize(inside)
    waits = [d.assigned_at - d.opened_at for d in inside if d.assigned_at is not None]
    return ReportFigures(total=lines[-1], operators=tuple(lines[:-1]), wait_max=max(waits) if waits else None)


