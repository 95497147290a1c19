"""Statistics for the panel: per day and per operator, and the bars of their SVG charts.

Pure: numbers in, numbers out; no I/O. The templates draw the bars (autoescaped SVG).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from .. import core

CHART_WIDTH = 720
CHART_HEIGHT = 200
LABEL_ROOM = 30
MAX_BAR_WIDTH = 60


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str
    title: str


@dataclass(frozen=True)
class DayLine:
    day: date
    line: core.StatsLine
    faq_answered: int
    faq_not_helped: int


def per_day(dialogs: list[core.DialogFacts], faq_events: list[tuple[str, float]], first_day: date, days: int,
            zone: tzinfo | None) -> list[DayLine]:
    """A line per local day from first_day on, each the core's summary of that day's dialogs."""
    def day_of(ts: float) -> date:
        return (datetime.fromtimestamp(ts, zone) if zone else datetime.fromtimestamp(ts).astimezone()).date()

    by_day: dict[date, list[core.DialogFacts]] = {}
    for fact in dialogs:
        by_day.setdefault(day_of(fact.opened_at), []).append(fact)
    answered: dict[date, int] = {}
    not_helped: dict[date, int] = {}
    for kind, at in faq_events:
        target = answered if kind == "answered" else not_helped if kind == "not_helped" else None
        if target is not None:
            target[day_of(at)] = target.get(day_of(at), 0) + 1
    out = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        out.append(DayLine(day, core.summarize(by_day.get(day, []))[-1], answered.get(day, 0),
                           not_helped.get(day, 0)))
    return out


def bars(values: list[tuple[str, float, str]], width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> list[Bar]:
    """Vertical bars for (label, value, title) triples, scaled to the tallest."""
    if not values:
        return []
    top = max(v for _, v, _ in values) or 1
    slot = width / len(values)
    room = height - LABEL_ROOM
    out = []
    for index, (label, value, title) in enumerate(values):
        h = room * value / top
        bar_width = min(slot * 0.7, MAX_BAR_WIDTH)
        out.append(Bar(x=round(index * slot + (slot - bar_width) / 2, 1), y=round(room - h + 10, 1), width=round(bar_width, 1),
                       height=round(h, 1), value=value, label=label, title=title))
    return out
