"""A small sample ERP seeded into a database, kept with the rows that were generated for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fleet_pipeline.erp.sample.generator import SampleData, generate
from fleet_pipeline.erp.sample.writer import seed

DAY = date(2026, 12, 4)
SEED_ARGS = {"days": 2, "per_day": 60, "seed": 11, "defect_rate": 0.3, "start_date": DAY}


@dataclass(frozen=True)
class SeededErp:
    url: str
    data: SampleData

    def pending_notes(self, day: date) -> list[dict]:
        return [n for n in self.data.rows["delivery_notes"]
                if n["status"] == "pending" and n["ship_date"] == day]


def seed_sample(url: str, start_date: date = DAY) -> SeededErp:
    """Seed SEED_ARGS' two days from `start_date` into `url`."""
    args = {**SEED_ARGS, "start_date": start_date}
    seed(url, args["days"], args["per_day"], args["seed"], start_date, args["defect_rate"])
    return SeededErp(url=url, data=generate(**args))
