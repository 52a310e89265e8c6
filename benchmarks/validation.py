"""Validation and payload building on 1,000,000 deliveries with 1% defects.

Run: .venv/bin/python benchmarks/validation.py [--rows N] [--repeat K]

Prints, in one run on the same frames:
- `split` (type stage + pandera contracts + failure frame) against a hand-written baseline that
  evaluates the same predicates (fleet_pipeline.validation.rules) as plain boolean masks and cuts
  the same valid frame and (row, column, check) failures; the ratio is what pandera costs us;
- `build_payloads` on the valid rows, and payload hashing.
Each figure is the best of K runs.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from fleet_pipeline.erp.canonical import ITEM_COLUMN_NAMES, JOB_COLUMN_NAMES
from fleet_pipeline.validation import rules
from fleet_pipeline.validation.payloads import build_payloads, payload_hash
from fleet_pipeline.validation.settings import ValidationSettings
from fleet_pipeline.validation.split import split

NOW = datetime(2026, 3, 9, 18, 0)
DAY = pd.Timestamp("2026-03-10")
DEFECTS = ("phone", "email", "swapped", "no_position", "past", "duplicate", "quantity",
           "long_note", "country", "window")


def _text(prefix: str, numbers: np.ndarray) -> np.ndarray:
    return (prefix + pd.Series(numbers).astype(str)).to_numpy(dtype=object)


def make_partition(n: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deliveries and items typed as the extraction's Parquet reads back; 1% of rows defective."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    pickup = rng.random(n) < 0.2
    lat = -26.2 + rng.uniform(-0.5, 0.5, n)
    lon = 28.0 + rng.uniform(-0.5, 0.5, n)
    windows = rng.random(n) < 0.5
    none = np.full(n, None, dtype=object)
    jobs = pd.DataFrame({name: none for name in JOB_COLUMN_NAMES})
    jobs["reference_number"] = _text("SO-", ids)
    jobs["scheduled_date"] = np.full(n, DAY.date(), dtype=object)
    jobs["job_type_id"] = np.where(pickup, 1, 3).astype("int64")
    jobs["schedule_type_id"] = np.full(n, 2, dtype="int64")
    jobs["scheduled_delivery_ts"] = (DAY + pd.to_timedelta(rng.integers(7 * 60, 17 * 60, n),
                                                           unit="min")).astype("datetime64[us]")
    jobs["labels"] = np.where(rng.random(n) < 0.3, "fragile, express", None).astype(object)
    jobs["dropoff_customer_name"] = _text("Customer ", ids)
    jobs["dropoff_address_line_1"] = _text("Street ", ids % 5000)
    jobs["dropoff_postal_code"] = _text("", 1000 + ids % 9000)
    jobs["dropoff_country_code"] = np.full(n, "ZA", dtype=object)
    jobs["dropoff_latitude"] = lat
    jobs["dropoff_longitude"] = lon
    jobs["dropoff_contact_name"] = _text("Contact ", ids % 20000)
    jobs["dropoff_contact_number"] = _text("+2782", 1_000_000 + ids % 8_000_000)
    jobs["dropoff_email"] = _text("person", ids % 50000) + "@example.co.za"
    jobs["dropoff_note"] = np.where(rng.random(n) < 0.5, "Ring the bell at gate 2.", None)
    jobs["dropoff_window_from"] = np.where(windows, "08:00", None).astype(object)
    jobs["dropoff_window_to"] = np.where(windows, "12:00:00", None).astype(object)
    jobs["dropoff_duration_minutes"] = np.where(rng.random(n) < 0.7, 15.0, np.nan)
    for name, value in (("customer_name", "Midrand DC"), ("address_line_1", "1 Depot Road"),
                        ("country_code", "ZA"), ("contact_number", "011 555 1234")):
        jobs[f"pickup_{name}"] = np.where(pickup, value, None).astype(object)
    jobs["pickup_latitude"] = np.where(pickup, -25.99, np.nan)
    jobs["pickup_longitude"] = np.where(pickup, 28.12, np.nan)
    jobs["pickup_duration_minutes"] = np.full(n, np.nan)
    for name in JOB_COLUMN_NAMES:
        if name.endswith(("latitude", "longitude")) and jobs[name].dtype == object:
            jobs[name] = jobs[name].astype("float64")

    lines = rng.integers(1, 3, n)
    refs = np.repeat(jobs["reference_number"].to_numpy(), lines)
    line_numbers = (pd.Series(refs).groupby(refs).cumcount() + 1).to_numpy(dtype="int64")
    m = len(refs)
    items = pd.DataFrame({name: np.full(m, None, dtype=object) for name in ITEM_COLUMN_NAMES})
    items["reference_number"] = refs
    items["line_number"] = line_numbers
    items["description"] = np.full(m, "Cement 50 kg", dtype=object)
    items["quantity"] = rng.integers(1, 10, m).astype("float64")
    items["weight_kg"] = np.full(m, 50.0)
    items["item_type_id"] = np.ones(m, dtype="int64")
    items["sku"] = np.full(m, "CEM-50", dtype=object)
    items["tracking_number"] = _text("TRK-", np.arange(m))
    for name in ("length_cm", "width_cm", "height_cm"):
        items[name] = np.full(m, 30.0)

    _inject_defects(jobs, items, rng)
    return jobs, items


def _inject_defects(jobs: pd.DataFrame, items: pd.DataFrame, rng: np.random.Generator) -> None:
    n = len(jobs)
    chosen = rng.choice(n, size=n // 100, replace=False)
    kinds = np.array(DEFECTS)[np.arange(len(chosen)) % len(DEFECTS)]
    at = {kind: chosen[kinds == kind] for kind in DEFECTS}
    jobs.loc[at["phone"], "dropoff_contact_number"] = "0800 FLOWERS"
    jobs.loc[at["email"], "dropoff_email"] = "thabo.nkosi@"
    lat = jobs.loc[at["swapped"], "dropoff_latitude"].to_numpy()
    jobs.loc[at["swapped"], "dropoff_latitude"] = jobs.loc[at["swapped"], "dropoff_longitude"]
    jobs.loc[at["swapped"], "dropoff_longitude"] = lat
    jobs.loc[at["no_position"], ["dropoff_latitude", "dropoff_longitude"]] = np.nan
    jobs.loc[at["no_position"], "dropoff_address_line_1"] = None
    jobs.loc[at["past"], "scheduled_delivery_ts"] = pd.Timestamp(NOW - timedelta(hours=2))
    jobs.loc[at["duplicate"], "reference_number"] = jobs["reference_number"].to_numpy()[
        (at["duplicate"] + 1) % n]
    jobs.loc[at["long_note"], "dropoff_note"] = "x" * 10_000
    jobs.loc[at["country"], "dropoff_country_code"] = "XX"
    jobs.loc[at["window"], ["dropoff_window_from", "dropoff_window_to"]] = ("14:00", "12:00")
    bad = items["reference_number"].isin(jobs["reference_number"].to_numpy()[at["quantity"]])
    items.loc[bad, "quantity"] = 0.0


def hand_written(jobs: pd.DataFrame, items: pd.DataFrame, now: datetime,
                 settings: ValidationSettings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The same rules as boolean masks over the frames as they are, without pandera."""
    masks: dict[tuple[str, str], pd.Series] = {}
    limit = settings.text_limit
    ref = jobs["reference_number"]
    job_type, schedule_type = jobs["job_type_id"], jobs["schedule_type_id"]
    ts = jobs["scheduled_delivery_ts"]
    scheduled = schedule_type == rules.SCHEDULED
    masks["reference_number", "not_nullable"] = ref.notna()
    masks["reference_number", "field_uniqueness"] = ~ref.duplicated(keep=False)
    masks["reference_number", "reference_length"] = rules.length_between(
        ref, 1, settings.max_reference_length)
    masks["reference_number", "reference_charset"] = rules.matches(ref, settings.reference_pattern)
    masks["scheduled_date", "not_nullable"] = jobs["scheduled_date"].notna()
    masks["job_type_id", "job_type_known"] = rules.one_of(job_type, rules.JOB_TYPES)
    masks["schedule_type_id", "schedule_type_known"] = rules.one_of(schedule_type,
                                                                    rules.SCHEDULE_TYPES)
    masks["scheduled_delivery_ts", "required_when_scheduled"] = ~scheduled | ts.notna()
    masks["scheduled_delivery_ts", "not_in_past"] = ~scheduled | ~(ts < now)
    day = pd.to_datetime(jobs["scheduled_date"])
    masks["scheduled_delivery_ts", "on_scheduled_date"] = ~(ts.dt.normalize() != day) | ts.isna()
    masks["delivery_driver_id", "uuid_format"] = rules.matches(jobs["delivery_driver_id"],
                                                               rules.UUID_PATTERN)
    masks["delivery_driver_id", "driver_name_or_id"] = ~(
        rules.present(jobs["delivery_driver_name"]) & rules.present(jobs["delivery_driver_id"]))
    for name in ("delivery_driver_name", "labels"):
        masks[name, "text_length"] = rules.within_length(jobs[name], limit(name))
    for prefix in ("pickup", "dropoff"):
        def c(field: str, prefix: str = prefix) -> pd.Series:
            return jobs[f"{prefix}_{field}"]
        judged = pd.Series(True, index=jobs.index) if prefix == "dropoff" else job_type == 1
        for field in ("customer_name", "address_line_1", "address_line_2", "postal_code",
                      "contact_name", "note"):
            masks[f"{prefix}_{field}", "text_length"] = rules.within_length(c(field), limit(field))
        for field in ("customer_name", "country_code"):
            masks[f"{prefix}_{field}", "required"] = ~judged | rules.present(c(field))
        masks[f"{prefix}_country_code", "country_known"] = rules.country(c("country_code"))
        masks[f"{prefix}_latitude", "latitude_range"] = rules.between(c("latitude"), -90, 90)
        masks[f"{prefix}_longitude", "longitude_range"] = rules.between(c("longitude"), -180, 180)
        masks[f"{prefix}_contact_number", "phone_format"] = rules.phone(c("contact_number"),
                                                                        settings.phone_pattern)
        masks[f"{prefix}_email", "email_format"] = rules.email(c("email"),
                                                               settings.max_email_length)
        for field in ("window_from", "window_to"):
            masks[f"{prefix}_{field}", "time_format"] = rules.matches(c(field), rules.TIME_PATTERN)
        masks[f"{prefix}_duration_minutes", "duration_range"] = rules.between(
            c("duration_minutes"), 0, rules.MAX_DURATION_MINUTES)
        both = c("latitude").notna() & c("longitude").notna()
        masks[f"{prefix}_address_line_1", "address_or_coordinates"] = (
            ~judged | rules.present(c("address_line_1")) | both)
        masks[f"{prefix}_address_line_2", "line_2_needs_line_1"] = rules.needs(
            c("address_line_2"), c("address_line_1"))
        masks[f"{prefix}_latitude", "coordinates_paired"] = rules.needs(c("longitude"),
                                                                        c("latitude"))
        masks[f"{prefix}_longitude", "coordinates_paired"] = rules.needs(c("latitude"),
                                                                         c("longitude"))
        masks[f"{prefix}_latitude", "coordinates_not_zero"] = rules.not_null_island(
            c("latitude"), c("longitude"))
        masks[f"{prefix}_latitude", "coordinates_not_swapped"] = rules.not_swapped(
            c("latitude"), c("longitude"), c("country_code"))
        masks[f"{prefix}_window_from", "window_paired"] = rules.needs(c("window_to"),
                                                                      c("window_from"))
        masks[f"{prefix}_window_to", "window_paired"] = rules.needs(c("window_from"),
                                                                    c("window_to"))
        masks[f"{prefix}_window_to", "window_order"] = rules.window_order(c("window_from"),
                                                                          c("window_to"))
    single = job_type == rules.SINGLE_STOP
    for name in JOB_COLUMN_NAMES:
        if name.startswith("pickup_"):
            masks[name, "absent_for_single_stop"] = ~single | ~rules.present(jobs[name])

    item_masks: dict[tuple[str, str], pd.Series] = {
        ("reference_number", "not_nullable"): items["reference_number"].notna(),
        ("line_number", "not_nullable"): items["line_number"].notna(),
        ("description", "not_nullable"): items["description"].notna(),
        ("description", "not_empty"): items["description"] != "",
        ("description", "text_length"): rules.within_length(items["description"],
                                                            limit("description")),
        ("quantity", "not_nullable"): items["quantity"].notna(),
        ("quantity", "quantity_positive"): rules.positive(items["quantity"]),
        ("weight_kg", "weight_not_negative"): rules.not_negative(items["weight_kg"]),
        ("item_type_id", "item_type_known"): rules.one_of(items["item_type_id"], rules.ITEM_TYPES),
        ("sku", "text_length"): rules.within_length(items["sku"], limit("sku")),
        ("tracking_number", "text_length"): rules.within_length(items["tracking_number"],
                                                                limit("tracking_number")),
        ("line_number", "line_unique"): ~items.duplicated(["reference_number", "line_number"],
                                                          keep=False),
        ("reference_number", "delivery_exists"): items["reference_number"].isin(ref),
    }
    for name in ("length_cm", "width_cm", "height_cm"):
        item_masks[name, "dimension_not_negative"] = rules.not_negative(items[name])

    def failures(all_masks: dict) -> pd.DataFrame:
        parts = [pd.DataFrame({"row": np.flatnonzero(~mask.to_numpy()), "column": column,
                               "check": check})
                 for (column, check), mask in all_masks.items() if not mask.all()]
        return pd.concat(parts, ignore_index=True)

    item_failures = failures(item_masks)
    bad_refs = items["reference_number"].to_numpy()[item_failures["row"].unique()]
    masks["items", "items_valid"] = ~ref.isin(bad_refs)
    job_failures = failures(masks)
    valid = np.ones(len(jobs), dtype=bool)
    valid[job_failures["row"].to_numpy()] = False
    kept = items["reference_number"].isin(ref.to_numpy()[valid]).to_numpy().copy()
    kept[item_failures["row"].to_numpy()] = False
    return jobs[valid], items[kept], pd.concat([job_failures, item_failures])


def best_of(repeat: int, fn):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = ValidationSettings()
    started = time.perf_counter()
    jobs, items = make_partition(args.rows)
    print(f"partition: {len(jobs):,} deliveries, {len(items):,} items "
          f"(built in {time.perf_counter() - started:.1f} s)")

    ours, result = best_of(args.repeat, lambda: split(jobs, items, NOW, settings))
    theirs, (valid, _, _) = best_of(args.repeat, lambda: hand_written(jobs, items, NOW, settings))
    if len(valid) != len(result.valid_deliveries):
        raise SystemExit(f"baseline disagrees: {len(valid)} valid, "
                         f"split {len(result.valid_deliveries)}")
    print(f"split (pandera):          {ours:7.2f} s   valid {len(result.valid_deliveries):,}, "
          f"rejected {len(result.rejected_references):,}, failures {len(result.failures):,}")
    print(f"hand-written masks:       {theirs:7.2f} s")
    print(f"ratio:                    {ours / theirs:7.2f} x")

    build, payloads = best_of(args.repeat, lambda: build_payloads(result.valid_deliveries,
                                                                  result.valid_items))
    hashing, _ = best_of(args.repeat, lambda: [payload_hash(p) for p in payloads])
    print(f"build_payloads:           {build:7.2f} s   ({len(payloads):,} payloads, "
          f"{len(payloads) / build:,.0f}/s)")
    print(f"payload_hash (all):       {hashing:7.2f} s")


if __name__ == "__main__":
    main()
