"""Working hours: parsing, open/closed across midnight and week ends, the next opening."""
from __future__ import annotations

from datetime import datetime

import pytest

from supportbot.schedule import ScheduleError, describe_opening, parse_schedule

# 2026-11-23 is a Monday.
MON, TUE, FRI, SAT, SUN = (datetime(2026, 11, d) for d in (23, 24, 27, 28, 29))


def at(day: datetime, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return day.replace(hour=hours, minute=minutes)


SHOP = parse_schedule("Mon-Fri 09:00-18:00; Sat 10:00-15:00")
NIGHT = parse_schedule("Fri-Sat 22:00-02:00")
WRAP = parse_schedule("Sat-Mon 10:00-12:00")


@pytest.mark.parametrize("schedule, when, is_open", [
    (SHOP, at(MON, "08:59"), False),
    (SHOP, at(MON, "09:00"), True),
    (SHOP, at(FRI, "17:59"), True),
    (SHOP, at(FRI, "18:00"), False),
    (SHOP, at(SAT, "12:00"), True),
    (SHOP, at(SUN, "12:00"), False),
    (NIGHT, at(FRI, "23:30"), True),
    (NIGHT, at(SAT, "01:59"), True),   # Friday's night runs past midnight
    (NIGHT, at(SAT, "02:00"), False),
    (NIGHT, at(SUN, "01:00"), True),   # Saturday's night ends on Sunday
    (NIGHT, at(MON, "01:00"), False),
    (WRAP, at(SUN, "11:00"), True),    # Sat-Mon wraps over the week end
    (WRAP, at(MON, "11:00"), True),
    (WRAP, at(TUE, "11:00"), False),
    (parse_schedule(""), at(SUN, "03:00"), True),
    (parse_schedule("Пн-Пт 09:00-24:00"), at(TUE, "23:59"), True),
])
def test_is_open(schedule, when, is_open):
    assert schedule.is_open(when) is is_open


@pytest.mark.parametrize("schedule, when, opening", [
    (SHOP, at(MON, "07:00"), at(MON, "09:00")),
    (SHOP, at(FRI, "19:00"), at(SAT, "10:00")),
    (SHOP, at(SAT, "16:00"), at(datetime(2026, 11, 30), "09:00")),  # over Sunday to Monday
    (NIGHT, at(SAT, "03:00"), at(SAT, "22:00")),
])
def test_next_opening(schedule, when, opening):
    assert schedule.next_opening(when) == opening


def test_always_open_has_no_next_opening():
    assert parse_schedule("  ").next_opening(MON) is None


@pytest.mark.parametrize("text", ["Mon 9-18", "Funday 09:00-18:00", "Mon-Fri 25:00-26:00", "09:00-18:00"])
def test_bad_schedules_are_refused(text):
    with pytest.raises(ScheduleError):
        parse_schedule(text)


def test_describe_opening():
    assert describe_opening(at(MON, "09:00"), at(MON, "07:00")) == "сегодня в 09:00"
    assert describe_opening(at(TUE, "09:00"), at(MON, "20:00")) == "завтра в 09:00"
    assert describe_opening(at(datetime(2026, 11, 30), "09:00"), at(SAT, "16:00")) == "пн, 30.11 в 09:00"
