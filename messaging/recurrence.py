"""When a recurring schedule fires next: a wall-clock rule in a time zone, turned into UTC instants.

DST rules, chosen so that a schedule fires exactly once on every day its rule names:
- a local time that does not exist that day (the spring-forward gap) fires at the same wall-clock
  time shifted forward by the gap (02:30 in a 02:00→03:00 jump fires at 03:30);
- a local time that happens twice (the autumn overlap) fires at its first occurrence.
Pure functions: no Django, no database.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"
# How far ahead to look for a matching day before saying the rule never fires again.
_HORIZON_DAYS = 366 * 2


@dataclass(frozen=True)
class Rule:
    frequency: str
    local_time: time
    time_zone: str
    start_date: date
    end_date: date | None = None
    weekdays: tuple[int, ...] = ()  # 0 = Monday … 6 = Sunday
    day_of_month: int | None = None

    def fires_on(self, day: date) -> bool:
        if day < self.start_date or (self.end_date and day > self.end_date):
            return False
        if self.frequency == DAILY:
            return True
        if self.frequency == WEEKLY:
            return day.weekday() in self.weekdays
        if self.frequency == MONTHLY and self.day_of_month:
            last = calendar.monthrange(day.year, day.month)[1]
            return day.day == min(self.day_of_month, last)
        return False


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `day at` in `zone`, with the gap and overlap rules above."""
    # fold=0 picks the first of two overlapping instants; for a time inside a gap, zoneinfo applies
    # the offset from before the transition, which lands after the gap by exactly its length.
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_fire(rule: Rule, after: datetime) -> datetime | None:
    """The first fire strictly after `after` (aware), or None when the rule has no fire left."""
    zone = ZoneInfo(rule.time_zone)
    day = max(after.astimezone(zone).date() - timedelta(days=1), rule.start_date)
    for _ in range(_HORIZON_DAYS):
        if rule.end_date and day > rule.end_date:
            return None
        if rule.fires_on(day):
            instant = local_to_utc(day, rule.local_time, zone)
            if instant > after:
                return instant
        day += timedelta(days=1)
    return None


def next_fires(rule: Rule, after: datetime, count: int) -> list[datetime]:
    """The next `count` fires strictly after `after` (fewer when the rule ends first)."""
    fires = []
    while len(fires) < count and (after := next_fire(rule, after)) is not None:
        fires.append(after)
    return fires
