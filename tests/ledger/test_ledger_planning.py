"""Planning jobs, recording validation failures and withdrawals, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from fleet_pipeline.ledger import repository as repo
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.jobstore import CHUNK
from fleet_pipeline.ledger.tables import jobs, validation_failures

DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _planned(n: int, version: str = "v1") -> list[tuple[str, str, str]]:
    return [(f"CART{i:04d}", f"hash-{version}-{i}", f'{{"reference_number": "CART{i:04d}"}}')
            for i in range(n)]


def _force(conn: sa.Connection, reference: str, **values) -> None:
    """Put a job in a state the test needs without walking the whole way there."""
    conn.execute(sa.update(jobs).where(jobs.c.reference_number == reference).values(**values))


def test_new_jobs_are_queued_with_their_payload(engine):
    with engine.begin() as conn:
        result = repo.plan_jobs(conn, DAY, _planned(3), now=NOW, run_id="run-1")
    assert (result.inserted, result.refreshed, result.requeued, result.unchanged) == (3, 0, [], 0)
    with engine.connect() as conn:
        assert repo.job_counts_by_state(conn, DAY)[st.QUEUED] == 3
        assert conn.scalar(sa.select(jobs.c.payload).where(jobs.c.reference_number == "CART0001")
                           ) == '{"reference_number": "CART0001"}'
        history = repo.job_history(conn, "CART0001")
    assert [(h["event"], h["from_state"], h["to_state"], h["run_id"]) for h in history] == [
        (st.PLANNED, None, st.QUEUED, "run-1")]
    assert history[0]["detail"] == {"payload_hash": "hash-v1-1"}
    assert history[0]["at"] == NOW


def test_planning_again_changes_nothing(engine):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(3), now=NOW)
        again = repo.plan_jobs(conn, DAY, _planned(3), now=NOW + timedelta(hours=1))
        assert (again.inserted, again.unchanged) == (0, 3)
        assert len(repo.job_history(conn, "CART0000")) == 1


def test_a_queued_job_takes_its_new_payload(engine):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(2), now=NOW)
        changed = [_planned(2)[0], ("CART0001", "hash-v2-1", '{"changed": true}')]
        result = repo.plan_jobs(conn, DAY, changed, now=NOW)
        assert (result.refreshed, result.unchanged, result.requeued) == (1, 1, [])
        record = repo.get_job(conn, "CART0001")
        assert (record.state, record.payload_hash) == (st.QUEUED, "hash-v2-1")
        assert conn.scalar(sa.select(jobs.c.payload).where(jobs.c.reference_number == "CART0001")
                           ) == '{"changed": true}'
        assert [h["event"] for h in repo.job_history(conn, "CART0001")] == [
            st.PLANNED, st.ERP_ROW_CHANGED]


def test_a_reference_planned_twice_is_refused(engine):
    with pytest.raises(ValueError, match="CART0000"), engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(1) + _planned(1), now=NOW)


@pytest.mark.parametrize(("values", "outcome"), [
    ({"state": st.CREATED, "fleet_job_id": 7}, "after_send"),
    ({"state": st.IN_FLIGHT}, "after_send"),
    ({"state": st.SUBMITTED}, "after_send"),
    ({"state": st.UNKNOWN}, "after_send"),
    ({"state": st.ESCALATED}, "after_send"),  # reached from unknown: Fleet may hold it
    ({"state": st.ESCALATED, "rejection_class": st.PERMANENT}, "requeued"),
    ({"state": st.REJECTED, "rejection_class": st.PERMANENT}, "requeued"),
    ({"state": st.REJECTED, "rejection_class": st.TRANSIENT}, "requeued"),
    ({"state": st.WITHDRAWN}, "requeued"),
    ({"state": st.REJECTED_INVALID}, "requeued"),
])
def test_a_changed_erp_row(engine, values, outcome):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(1), now=NOW)
        _force(conn, "CART0000", attempts=3, **values)
        result = repo.plan_jobs(conn, DAY, _planned(1, "v2"), now=NOW)
        record = repo.get_job(conn, "CART0000")
        payload_hash = conn.scalar(sa.select(jobs.c.payload_hash))
    if outcome == "after_send":
        assert result.changed_after_send == [("CART0000", values["state"])]
        assert (record.state, payload_hash) == (values["state"], "hash-v1-0")
    else:
        assert result.requeued == ["CART0000"]
        assert (record.state, record.attempts, payload_hash) == (st.QUEUED, 0, "hash-v2-0")


@pytest.mark.parametrize("state", [st.WITHDRAWN, st.REJECTED_INVALID])
def test_a_job_that_comes_back_unchanged_is_queued_again(engine, state):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(1), now=NOW)
        _force(conn, "CART0000", state=state)
        assert repo.plan_jobs(conn, DAY, _planned(1), now=NOW).requeued == ["CART0000"]
        assert repo.get_job(conn, "CART0000").state == st.QUEUED


def test_a_requeued_job_moves_to_the_partition_that_plans_it(engine):
    later = DAY + timedelta(days=1)
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(1), now=NOW)
        _force(conn, "CART0000", state=st.REJECTED, rejection_class=st.PERMANENT)
        repo.plan_jobs(conn, later, _planned(1, "v2"), now=NOW)
        assert repo.get_job(conn, "CART0000").partition_date == later
        assert repo.job_counts_by_state(conn, later)[st.QUEUED] == 1
        assert sum(repo.job_counts_by_state(conn, DAY).values()) == 0


# As validation hands them over: one row per failed check, personal values already masked.
FAILURES = [
    {"record": "delivery", "reference_number": "CART0001", "row_position": 1,
     "column": "dropoff_customer_name", "check": "not_nullable", "value": None},
    {"record": "delivery", "reference_number": "CART0001", "row_position": 1,
     "column": "dropoff_contact_number", "check": "str_matches", "value": "0***(12)"},
    {"record": "delivery", "reference_number": "CART0002", "row_position": 2,
     "column": "job_type_id", "check": "isin([1, 3])", "value": "7"},
    {"record": "delivery", "reference_number": None, "row_position": 3,
     "column": "reference_number", "check": "not_nullable", "value": None},
    {"record": "item", "reference_number": "CART0002", "row_position": 0,
     "column": "quantity", "check": "greater_than(0)", "value": "0.0"},
]


def _failure_rows(conn: sa.Connection, day: date = DAY) -> list[tuple]:
    t = validation_failures
    query = (sa.select(t.c.reference_number, t.c.record, t.c.column_name, t.c.check_name,
                       t.c.masked_value)
             .where(t.c.partition_date == day).order_by(t.c.id))
    return [tuple(row) for row in conn.execute(query)]


def test_validation_failures_are_recorded_and_jobs_rejected(engine):
    with engine.begin() as conn:
        applied = repo.record_validation_rejections(conn, DAY, FAILURES, now=NOW)
        assert sorted(applied.changed) == ["CART0001", "CART0002"]
        assert _failure_rows(conn) == [
            ("CART0001", "delivery", "dropoff_customer_name", "not_nullable", None),
            ("CART0001", "delivery", "dropoff_contact_number", "str_matches", "0***(12)"),
            ("CART0002", "delivery", "job_type_id", "isin([1, 3])", "7"),
            (None, "delivery", "reference_number", "not_nullable", None),
            ("CART0002", "item", "quantity", "greater_than(0)", "0.0"),
        ]
        record = repo.get_job(conn, "CART0001")
        assert (record.state, record.payload_hash) == (st.REJECTED_INVALID, None)
        assert record.last_error == ("failed validation: dropoff_contact_number: str_matches; "
                                     "dropoff_customer_name: not_nullable")
        assert repo.job_counts_by_state(conn, DAY)[st.REJECTED_INVALID] == 2


def test_revalidation_replaces_the_partitions_failures_only(engine):
    other_day = DAY + timedelta(days=1)
    with engine.begin() as conn:
        repo.record_validation_rejections(conn, DAY, FAILURES, now=NOW)
        repo.record_validation_rejections(conn, other_day, [
            {"reference_number": "CART0900", "row_position": 0, "column": "job_type_id",
             "check": "isin([1, 3])", "value": 2}], now=NOW)
        repo.record_validation_rejections(conn, DAY, FAILURES[2:3], now=NOW)
        assert _failure_rows(conn) == [
            ("CART0002", "delivery", "job_type_id", "isin([1, 3])", "7")]
        assert len(_failure_rows(conn, other_day)) == 1


def test_the_same_failures_again_add_no_event(engine):
    with engine.begin() as conn:
        repo.record_validation_rejections(conn, DAY, FAILURES, now=NOW)
        again = repo.record_validation_rejections(conn, DAY, FAILURES, now=NOW)
        assert again.changed == []
        assert len(repo.job_history(conn, "CART0001")) == 1


def test_a_queued_job_that_turns_invalid_is_rejected_and_comes_back_when_fixed(engine):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(3), now=NOW)
        repo.record_validation_rejections(conn, DAY, FAILURES[:2], now=NOW)
        assert repo.get_job(conn, "CART0001").state == st.REJECTED_INVALID
        repo.record_validation_rejections(conn, DAY, [], now=NOW)
        result = repo.plan_jobs(conn, DAY, _planned(3, "v2"), now=NOW)
        assert result.requeued == ["CART0001"]
        assert _failure_rows(conn) == []
        assert [h["to_state"] for h in repo.job_history(conn, "CART0001")] == [
            st.QUEUED, st.REJECTED_INVALID, st.QUEUED]


def test_a_job_fleet_holds_keeps_its_state_but_its_failures_are_recorded(engine):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(2), now=NOW)
        _force(conn, "CART0001", state=st.CREATED, fleet_job_id=5)
        applied = repo.record_validation_rejections(conn, DAY, FAILURES[:2], now=NOW)
        assert applied.ignored == ["CART0001"]
        assert repo.get_job(conn, "CART0001").state == st.CREATED
        assert len(_failure_rows(conn)) == 2


def test_failures_from_a_dataframe_with_gaps(engine):
    frame = pd.DataFrame(FAILURES).astype({"reference_number": "string"})  # gaps become NA
    frame.loc[3, "row_position"] = float("nan")  # and NaN in a numeric column
    with engine.begin() as conn:
        repo.record_validation_rejections(conn, DAY, frame, now=NOW)
        positions = conn.execute(sa.select(validation_failures.c.reference_number,
                                           validation_failures.c.row_position)
                                 .order_by(validation_failures.c.id)).all()
        assert [tuple(p) for p in positions] == [
            ("CART0001", 1), ("CART0001", 1), ("CART0002", 2), (None, None), ("CART0002", 0)]
        assert repo.get_job(conn, "CART0002").state == st.REJECTED_INVALID


def test_jobs_the_erp_no_longer_lists_are_withdrawn(engine):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(5), now=NOW)
        _force(conn, "CART0003", state=st.CREATED, fleet_job_id=3)
        _force(conn, "CART0004", state=st.SUBMITTED)
        applied = repo.withdraw_absent(conn, DAY, ["CART0000", "CART0001"], now=NOW)
        assert (applied.changed, applied.ignored) == (["CART0002"], ["CART0004"])
        assert repo.get_job(conn, "CART0002").state == st.WITHDRAWN
        assert repo.get_job(conn, "CART0003").state == st.CREATED
        assert [j.reference_number for j in repo.jobs_to_send(conn, DAY, now=NOW)] == [
            "CART0000", "CART0001"]


def test_jobs_to_send_are_the_due_queued_jobs_of_the_partition(engine):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(4), now=NOW)
        repo.plan_jobs(conn, DAY + timedelta(days=1), [("OTHER1", "h", "{}")], now=NOW)
        _force(conn, "CART0001", next_attempt_at=NOW + timedelta(minutes=5))
        _force(conn, "CART0002", state=st.SUBMITTED)
        due = repo.jobs_to_send(conn, DAY, now=NOW)
        assert [j.reference_number for j in due] == ["CART0000", "CART0003"]
        assert due[0] == repo.QueuedJob("CART0000", "hash-v1-0",
                                        '{"reference_number": "CART0000"}', 0)
        later = repo.jobs_to_send(conn, DAY, now=NOW + timedelta(minutes=5), limit=2)
        assert [j.reference_number for j in later] == ["CART0000", "CART0001"]


def test_counts_list_every_state(engine):
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(2), now=NOW)
        counts = repo.job_counts_by_state(conn, DAY)
        assert counts == {**dict.fromkeys(st.STATES, 0), st.QUEUED: 2}
        assert repo.upload_counts_by_state(conn, DAY) == dict.fromkeys(st.UPLOAD_STATES, 0)


def test_planning_crosses_chunk_boundaries(engine):
    n = CHUNK * 2 + 17
    changed = [(ref, f"{h}-changed" if i % 3 == 0 else h, p)
               for i, (ref, h, p) in enumerate(_planned(n))]
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(n), now=NOW)
        result = repo.plan_jobs(conn, DAY, changed, now=NOW)
        assert (result.refreshed, result.unchanged) == (673, n - 673)
        assert repo.job_counts_by_state(conn, DAY)[st.QUEUED] == n


def test_record_fields_round_trip(engine):
    """What the ledger stores is what it reads back, time zones included."""
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, _planned(1), now=NOW)
        record = repo.get_job(conn, "CART0000")
    assert record == replace(
        st.JobRecord("CART0000", DAY, state=st.QUEUED, payload_hash="hash-v1-0"),
        state_changed_at=NOW)
    assert record.state_changed_at.utcoffset() == timedelta(0)
