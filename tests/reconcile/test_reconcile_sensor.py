"""The reconciliation sensor: complete, partial, late and repeated callbacks, old partitions,
and a bounded read per tick (build_sensor_context + evaluate_tick on a real database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from reconcile_support import OLD_DAY, created, day_with_uploads, land, refs

from fleet_pipeline.definitions import defs
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.reconcile.sensors import reconciliation_sensor
from fleet_pipeline.reconcile.triggers import Cursor

DAY = (datetime.now(UTC) - timedelta(days=1)).date()  # yesterday's deliveries
SOON = datetime.now(UTC) + timedelta(hours=1)
PASSED = datetime.now(UTC) - timedelta(minutes=1)


def tick(db_url: str, cursor: str | None = None):
    with dg.build_sensor_context(cursor=cursor, definitions=defs, resources={
            "ledger": LedgerResource(db_url=db_url)}) as context:
        return reconciliation_sensor.evaluate_tick(context)


def requested(result) -> list[tuple[str, str]]:
    return [(r.partition_key, r.run_key) for r in result.run_requests]


def entries(references, first_id=1):
    return [created(r, first_id + i) for i, r in enumerate(references)]


@pytest.fixture
def two_uploads(engine):
    a, b = refs(3, "A", DAY), refs(3, "B", DAY)
    day_with_uploads(engine, DAY, {"UA": a, "UB": b}, deadline=SOON)
    return a, b


def test_a_day_is_requested_once_every_upload_is_called_back(engine, db_url, two_uploads):
    a, b = two_uploads
    first = land(engine, "UA", entries(a))
    partial = tick(db_url)
    assert partial.run_requests == [] and DAY.isoformat() in partial.skip_message
    assert Cursor.from_json(partial.cursor).waiting == (DAY.isoformat(),)

    second = land(engine, "UB", entries(b, 10))
    complete = tick(db_url, partial.cursor)
    assert requested(complete) == [
        (DAY.isoformat(), f"reconciliation:{DAY}:event-{second.event_id}:past-0")]
    cursor = Cursor.from_json(complete.cursor)
    assert cursor.last_event_id == second.event_id > first.event_id and cursor.waiting == ()
    # Nothing new: nothing asked.
    assert tick(db_url, complete.cursor).run_requests == []


def test_a_repeated_callback_does_not_ask_again(engine, db_url, two_uploads):
    a, b = two_uploads
    land(engine, "UA", entries(a))
    land(engine, "UB", entries(b, 10))
    first = tick(db_url)
    assert len(first.run_requests) == 1
    assert land(engine, "UB", entries(b, 10)).new is False
    repeat = land(engine, "UB", entries(b, 10), indent=2)  # same entries, other bytes
    assert repeat.new and repeat.duplicate_of is not None
    again = tick(db_url, first.cursor)
    assert again.run_requests == []
    assert Cursor.from_json(again.cursor).last_event_id == repeat.event_id


def test_a_lost_callback_waits_for_the_deadline_and_a_late_one_asks_again(engine, db_url):
    a, b = refs(2, "A", DAY), refs(2, "B", DAY)
    day_with_uploads(engine, DAY, {"UA": a}, deadline=SOON)
    day_with_uploads(engine, DAY, {"UB": b}, deadline=PASSED)  # its callback never came
    landed = land(engine, "UA", entries(a))
    first = tick(db_url)
    assert requested(first) == [
        (DAY.isoformat(), f"reconciliation:{DAY}:event-{landed.event_id}:past-1")]
    late = land(engine, "UB", entries(b, 10))
    second = tick(db_url, first.cursor)
    assert requested(second) == [
        (DAY.isoformat(), f"reconciliation:{DAY}:event-{late.event_id}:past-0")]


def test_a_day_whose_every_callback_is_lost_is_asked_for_at_its_deadline(engine, db_url):
    day_with_uploads(engine, DAY, {"UA": refs(2, "A", DAY)}, deadline=PASSED)
    first = tick(db_url, Cursor(deadlines_checked_at=PASSED - timedelta(minutes=5)).to_json())
    assert requested(first) == [(DAY.isoformat(), f"reconciliation:{DAY}:event-0:past-1")]
    # The deadline was seen: the next tick does not ask again.
    assert tick(db_url, first.cursor).run_requests == []


def test_old_and_backfilled_days_are_requested_like_the_latest(engine, db_url):
    old, recent = refs(2, "O", OLD_DAY), refs(2, "R", DAY)
    day_with_uploads(engine, OLD_DAY, {"UO": old}, deadline=SOON)
    day_with_uploads(engine, DAY, {"UR": recent}, deadline=SOON)
    land(engine, "UR", entries(recent))
    first = tick(db_url)
    assert [key for key, _ in requested(first)] == [DAY.isoformat()]
    late_old = land(engine, "UO", entries(old, 10))
    second = tick(db_url, first.cursor)
    assert requested(second) == [
        (OLD_DAY.isoformat(), f"reconciliation:{OLD_DAY}:event-{late_old.event_id}:past-0")]


def test_each_tick_reads_a_bounded_number_of_events(engine, db_url, two_uploads, monkeypatch):
    a, b = two_uploads
    land(engine, "UA", entries(a))
    last = land(engine, "UB", entries(b, 10))
    monkeypatch.setenv("FLEET_SENSOR_MAX_EVENTS", "1")
    first = tick(db_url)
    assert Cursor.from_json(first.cursor).last_event_id == last.event_id - 1
    second = tick(db_url, first.cursor)
    assert Cursor.from_json(second.cursor).last_event_id == last.event_id
    # Readiness looks at every landed callback, so both ticks name the same run: one run.
    assert requested(first) == requested(second) == [
        (DAY.isoformat(), f"reconciliation:{DAY}:event-{last.event_id}:past-0")]
