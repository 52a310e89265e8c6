"""Which delivery dates the daily run of the upload chain sends: the next `days_ahead` dates
after the day the schedule fires (deliveries are sent the day(s) before)."""

from __future__ import annotations

from datetime import date, timedelta


def dates_to_send(today: date, days_ahead: int) -> list[date]:
    if days_ahead < 1:
        raise ValueError("the schedule sends at least one day ahead")
    return [today + timedelta(days=n) for n in range(1, days_ahead + 1)]
