"""Working hours: parse `Mon-Fri 09:00-18:00; Sat 10:00-15:00`, tell open/closed and the next opening.

Pure: no clock, no I/O. Times are local datetimes given by the caller; a range
whose end is not after its start runs past midnight into the next day.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RU_DAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
_PART = re.compile(r"^\s*(\w{2,3})(?:\s*-\s*(\w{2,3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ScheduleError(ValueError):
    """A WORKING_HOURS value that cannot be read."""


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 = Monday
    start: time
    minutes: int  # length; may run past midnight


@dataclass(frozen=True)
class Schedule:
    windows: tuple[Window, ...] = ()

    @property
    def always_open(self) -> bool:
        return not self.windows

    def is_open(self, local: datetime) -> bool:
        """Tell whether the shop is open at this local time."""
        if self.always_open:
            return True
        return any(start <= local < end for start, end in self._spans_around(local))

    def next_opening(self, local: datetime) -> datetime | None:
        """Return the next local time the shop opens (None if always open)."""
        if self.always_open:
            return None
        starts = [start for start, _end in self._spans_around(local, days_ahead=8) if start > local]
        return min(starts) if starts else None

    def _spans_around(self, local: datetime, days_ahead: int = 1):
        naive = local.replace(tzinfo=None)
        for offset in range(-1, days_ahead + 1):
            day = (naive + timedelta(days=offset)).date()
            for window in self.windows:
                if window.weekday == day.weekday():
                    start = datetime.combine(day, window.start)
                    end = start + timedelta(minutes=window.minutes)
                    yield start.replace(tzinfo=local.tzinfo), end.replace(tzinfo=local.tzinfo)


def parse_schedule(text: str) -> Schedule:
    """Read `Mon-Fri 09:00-18:00; Sat 10:00-15:00` (Russian day names too); empty means always open."""
    windows: list[Window] = []
    for part in filter(None, (p.strip() for p in text.replace(",", ";").split(";"))):
        match = _PART.match(part)
        if not match:
            raise ScheduleError(f"не понимаю «{part}»: ожидается вида Mon-Fri 09:00-18:00")
        first, last, h1, m1, h2, m2 = match.groups()
        start_day, end_day = _day(first), _day(last or first)
        start, end = _clock(h1, m1), _clock(h2, m2)
        minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if minutes <= 0:
            minutes += 24 * 60  # runs past midnight
        day = start_day
        while True:
            windows.append(Window(day, start, minutes))
            if day == end_day:
                break
            day = (day + 1) % 7
    return Schedule(tuple(windows))


def _day(name: str) -> int:
    lowered = name.lower()
    for names in (DAYS, RU_DAYS):
        if lowered in names:
            return names.index(lowered)
    raise ScheduleError(f"неизвестный день «{name}» (Mon…Sun или Пн…Вс)")


def _clock(hours: str, minutes: str) -> time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(0, 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ScheduleError(f"неверное время {hours}:{minutes}")
    return time(h, m)


def describe_opening(opening: datetime, local_now: datetime) -> str:
    """Say when the shop opens, in Russian: "сегодня в 09:00", "завтра в 10:00", "в пн в 09:00"."""
    days = (opening.date() - local_now.date()).days
    at = opening.strftime("%H:%M")
    if days == 0:
        return f"сегодня в {at}"
    if days == 1:
        return f"завтра в {at}"
    return f"{RU_DAYS[opening.weekday()]}, {opening.strftime('%d.%m')} в {at}"
