"""Counts per hour over the last week and its last day, for the dashboard's charts: one aggregate query,
hours in the reader's time zone."""

from datetime import UTC, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone


def per_hour(rows: QuerySet, field: str, *, now, series: tuple[str, ...], by: str | None = None) -> dict:
    """How many of `rows` have `field` in each hour of the last week (up to the hour holding `now`), split by
    the value of `by` (one of `series`), or all counted as `series[0]` when `by` is None."""
    zone = timezone.get_current_timezone()
    # Stepped in UTC (wall-clock steps would repeat or skip an hour at a DST change), shown in the zone.
    last = now.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    hours = [(last - timedelta(hours=i)).astimezone(zone) for i in range(7 * 24 - 1, -1, -1)]
    # Bounded above too: a time stamped by another clock may lie ahead of ours, outside every bar.
    grouped = rows.filter(**{f"{field}__gte": hours[0], f"{field}__lt": last + timedelta(hours=1)}).annotate(
        hour=TruncHour(field, tzinfo=zone)).values_list("hour", *([by] if by else []))
    counts = {(hour, key[0] if key else series[0]): n
              for hour, *key, n in grouped.annotate(n=Count("id")).order_by()}

    def chart(span, label_format):
        return {"labels": [hour.strftime(label_format) for hour in span],
                **{key: [counts.get((hour, key), 0) for hour in span] for key in series}}

    return {"day": chart(hours[-24:], "%H:00"), "week": chart(hours, "%a %H:00"), "zone": str(zone),
            "total": sum(counts.values())}
