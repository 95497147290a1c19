"""Statistics of a period's dialogs: percentiles per operator and in total."""
from __future__ import annotations

import math
from dataclasses import dataclass


def percentile(values: list[float], share: float) -> float | None:
    """Return the nearest-rank percentile (share 0.5 = median) of values, None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class DialogFacts:
    """One dialog as statistics see it."""
    operator: str | None
    opened_at: float
    assigned_at: float | None
    first_response_at: float | None
    closed_at: float | None
    rating: int | None


@dataclass(frozen=True)
class StatsLine:
    who: str | None  # None: all operators
    opened: int
    closed: int
    wait_p50: float | None
    wait_p90: float | None
    first_p50: float | None
    first_p90: float | None
    rating: float | None


def summarize(dialogs: list[DialogFacts]) -> list[StatsLine]:
    """Per-operator and total statistics of a period's dialogs (the total last)."""
    groups: dict[str | None, list[DialogFacts]] = {}
    for facts in dialogs:
        if facts.operator:
            groups.setdefault(facts.operator, []).append(facts)
    lines = [_stats_line(name, group) for name, group in sorted(groups.items())]
    lines.append(_stats_line(None, dialogs))
    return lines


def _stats_line(who: str | None, dialogs: list[DialogFacts]) -> StatsLine:
    waits = [d.assigned_at - d.opened_at for d in dialogs if d.assigned_at is not None]
    firsts = [d.first_response_at - d.assigned_at for d in dialogs
              if d.first_response_at is not None and d.assigned_at is not None]
    ratings = [d.rating for d in dialogs if d.rating is not None]
    return StatsLine(
        who=who, opened=len(dialogs), closed=sum(d.closed_at is not None for d in dialogs),
        wait_p50=percentile(waits, 0.5), wait_p90=percentile(waits, 0.9),
        first_p50=percentile(firsts, 0.5), first_p90=percentile(firsts, 0.9),
        rating=sum(ratings) / len(ratings) if ratings else None,
    )

