"""Next-fire computation across DST changes in several time zones."""

from datetime import UTC, date, datetime, time

import pytest

from messaging.recurrence import DAILY, MONTHLY, WEEKLY, Rule, next_fire


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(rule: Rule, after: datetime, n: int) -> list[datetime]:
    out = []
    for _ in range(n):
        after = next_fire(rule, after)
        out.append(after)
    return out


def test_daily_fires_at_the_same_wall_clock_time_across_spring_forward_in_berlin():
    rule = Rule(DAILY, time(9, 0), "Europe/Berlin", date(2026, 3, 27))
    # Berlin goes from UTC+1 to UTC+2 on 2026-03-29.
    assert fires(rule, utc(2026, 3, 27, 0, 0), 4) == [
        utc(2026, 3, 27, 8, 0), utc(2026, 3, 28, 8, 0), utc(2026, 3, 29, 7, 0), utc(2026, 3, 30, 7, 0),
    ]


def test_a_time_inside_the_spring_gap_fires_once_shifted_forward_by_the_gap():
    # 02:30 does not exist in Berlin on 2026-03-29 (02:00 → 03:00): it fires at 03:30 CEST = 01:30 UTC.
    rule = Rule(DAILY, time(2, 30), "Europe/Berlin", date(2026, 3, 28))
    assert fires(rule, utc(2026, 3, 28, 0, 0), 3) == [
        utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30),
    ]


def test_a_time_inside_the_autumn_overlap_fires_once_at_its_first_occurrence():
    # 01:30 happens twice in New York on 2026-11-01 (EDT then EST): fire at the first (05:30 UTC), once.
    rule = Rule(DAILY, time(1, 30), "America/New_York", date(2026, 10, 31))
    assert fires(rule, utc(2026, 10, 31, 0, 0), 3) == [
        utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30),
    ]


def test_southern_hemisphere_dst_sydney():
    # Sydney leaves DST (UTC+11 → UTC+10) on 2026-04-05 at 03:00.
    rule = Rule(DAILY, time(8, 0), "Australia/Sydney", date(2026, 4, 4))
    assert fires(rule, utc(2026, 4, 3, 0, 0), 3) == [
        utc(2026, 4, 3, 21, 0), utc(2026, 4, 4, 22, 0), utc(2026, 4, 5, 22, 0),
    ]


def test_a_zone_without_dst_is_a_fixed_offset():
    rule = Rule(DAILY, time(10, 0), "Asia/Kolkata", date(2026, 1, 1))
    assert fires(rule, utc(2026, 3, 28, 0, 0), 2) == [utc(2026, 3, 28, 4, 30), utc(2026, 3, 29, 4, 30)]


def test_weekly_on_chosen_weekdays():
    rule = Rule(WEEKLY, time(18, 0), "UTC", date(2026, 11, 1), weekdays=(0, 2))  # Mondays and Wednesdays
    assert fires(rule, utc(2026, 11, 29, 12, 0), 3) == [
        utc(2026, 11, 30, 18, 0), utc(2026, 12, 2, 18, 0), utc(2026, 12, 7, 18, 0),
    ]


def test_monthly_on_the_31st_fires_on_the_last_day_of_shorter_months():
    rule = Rule(MONTHLY, time(12, 0), "UTC", date(2026, 1, 1), day_of_month=31)
    assert fires(rule, utc(2026, 1, 1), 3) == [utc(2026, 1, 31, 12), utc(2026, 2, 28, 12), utc(2026, 3, 31, 12)]


def test_the_end_date_is_the_last_day_it_may_fire_and_then_it_ends():
    rule = Rule(DAILY, time(9, 0), "UTC", date(2026, 1, 1), end_date=date(2026, 1, 2))
    assert fires(rule, utc(2026, 1, 1), 2) == [utc(2026, 1, 1, 9), utc(2026, 1, 2, 9)]
    assert next_fire(rule, utc(2026, 1, 2, 9)) is None


@pytest.mark.parametrize(
    "rule",
    [
        Rule(WEEKLY, time(9, 0), "UTC", date(2026, 1, 1), weekdays=()),
        Rule(DAILY, time(9, 0), "UTC", date(2026, 1, 1), end_date=date(2025, 12, 31)),
        Rule(WEEKLY, time(9, 0), "UTC", date(2026, 1, 5), end_date=date(2026, 1, 6), weekdays=(4,)),
    ],
    ids=["no-weekday", "ends-before-start", "no-matching-day-in-range"],
)
def test_a_rule_that_never_fires_has_no_next_fire(rule):
    assert next_fire(rule, utc(2026, 1, 1)) is None


def test_the_next_fire_is_strictly_after_the_given_instant():
    rule = Rule(DAILY, time(9, 0), "UTC", date(2026, 1, 1))
    assert next_fire(rule, utc(2026, 1, 1, 9, 0)) == utc(2026, 1, 2, 9, 0)
    assert next_fire(rule, utc(2026, 1, 1, 8, 59, 59)) == utc(2026, 1, 1, 9, 0)
