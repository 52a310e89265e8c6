"""The sample ERP generator: deterministic per seed, every defect kind present and recognisable."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, time

import pytest

from fleet_pipeline.erp.sample import generator
from fleet_pipeline.erp.sample.generator import DEFECTS, LONG_NOTE_CHARS, generate
from fleet_pipeline.erp.sample.schema import TABLE_NAMES

START = date(2026, 12, 4)
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _sample(**overrides):
    args = {"days": 2, "per_day": 90, "seed": 3, "defect_rate": 0.3, "start_date": START}
    return generate(**{**args, **overrides})


def test_same_seed_gives_the_same_rows_and_another_seed_does_not():
    first, again, other = _sample(), _sample(), _sample(seed=4)
    assert first.rows == again.rows
    assert first.manifest == again.manifest
    assert first.rows["delivery_notes"] != other.rows["delivery_notes"]


def test_every_table_is_filled_and_every_defect_kind_is_present():
    data = _sample()
    assert set(data.rows) == set(TABLE_NAMES)
    assert all(data.rows[t] for t in TABLE_NAMES)
    assert set(data.defect_counts()) == set(DEFECTS)


def test_defect_share_follows_the_rate_and_zero_rate_gives_none():
    data = _sample(per_day=1000, days=1, defect_rate=0.1)
    notes, manifest = data.rows["delivery_notes"], data.manifest
    pending = sum(1 for n in notes if n["status"] == "pending")
    assert pending == 1000
    defective = sum(1 for n in notes
                    if n["status"] == "pending" and manifest[n["delivery_no"]] is not None)
    assert 90 <= defective <= 115  # duplicates mark the copied note as well
    assert not _sample(defect_rate=0.0).defect_counts()


def _by_reference(data):
    addresses = {a["address_id"]: a for a in data.rows["addresses"]}
    customers = {c["customer_id"]: c for c in data.rows["customers"]}
    orders = {o["order_id"]: o for o in data.rows["sales_orders"]}
    lines = Counter()
    quantities: dict[int, list] = {}
    for line in data.rows["delivery_lines"]:
        lines[line["delivery_note_id"]] += 1
        quantities.setdefault(line["delivery_note_id"], []).append(line["qty"])
    out: dict[str, list[dict]] = {}
    for note in data.rows["delivery_notes"]:
        if note["status"] != "pending":
            continue
        out.setdefault(note["delivery_no"], []).append({
            "note": note, "address": addresses[note["deliver_to_address_id"]],
            "customer": customers[orders[note["order_id"]]["customer_id"]],
            "quantities": quantities[note["delivery_note_id"]],
        })
    return out


def test_each_defect_looks_like_its_kind():
    data = _sample()
    notes = _by_reference(data)
    for reference, kind in data.manifest.items():
        for row in notes[reference]:
            note, address = row["note"], row["address"]
            if kind is None:
                assert len(notes[reference]) == 1
                assert E164.match(address["phone"]) and EMAIL.match(address["email"])
                assert address["geo_lat"] < 0 < address["geo_lon"]  # South Africa
                assert min(row["quantities"]) > 0
                assert note["planned_arrival"] is None or (
                    note["planned_arrival"].date() == note["ship_date"])
                assert row["customer"]["name"].isascii()
        if kind == "missing_coordinates":
            assert notes[reference][0]["address"]["geo_lat"] is None
        elif kind == "swapped_coordinates":
            address = notes[reference][0]["address"]
            assert address["geo_lat"] > 0 > address["geo_lon"]
        elif kind == "malformed_phone":
            assert not E164.match(notes[reference][0]["address"]["phone"])
        elif kind == "malformed_email":
            assert not EMAIL.match(notes[reference][0]["address"]["email"])
        elif kind == "past_scheduled_time":
            note = notes[reference][0]["note"]
            assert note["planned_arrival"] < datetime.combine(note["ship_date"], time(0))
        elif kind == "duplicate_reference":
            assert len(notes[reference]) == 2
        elif kind == "bad_quantity":
            assert min(notes[reference][0]["quantities"]) <= 0
        elif kind == "over_long_text":
            assert len(notes[reference][0]["note"]["driver_instructions"]) == LONG_NOTE_CHARS
        elif kind == "non_ascii_name":
            name = notes[reference][0]["customer"]["name"]
            assert not name.isascii()


def test_variety_of_jobs_schedules_drivers_windows_and_statuses():
    data = _sample()
    pending = [n for n in data.rows["delivery_notes"] if n["status"] == "pending"]
    assert {n["collect_from_address_id"] is None for n in pending} == {True, False}
    assert sum(n["collect_from_address_id"] is None for n in pending) > len(pending) / 2
    assert {n["planned_arrival"] is None for n in pending} == {True, False}
    assert any(n["window_from"] for n in pending) and any(n["tags"] for n in pending)
    driver_ids = {d["driver_id"] for d in data.rows["drivers"]}
    assigned = [n["driver_id"] for n in pending if n["driver_id"] is not None]
    assert assigned and set(assigned) <= driver_ids
    statuses = {n["status"] for n in data.rows["delivery_notes"]}
    assert statuses == {"pending", "draft", "dispatched", "cancelled"}
    assert {n["ship_date"] for n in pending} == {START, date(2026, 12, 5)}
    assert any(any(ord(ch) > 0xFFFF for ch in c["name"]) for c in data.rows["customers"])


def test_batches_give_unique_keys_whatever_the_batch_size(monkeypatch):
    monkeypatch.setattr(generator, "DELIVERIES_PER_BATCH", 7)
    data = _sample(per_day=40)
    for table, key in (("customers", "customer_id"), ("addresses", "address_id"),
                       ("sales_orders", "order_id"), ("delivery_notes", "delivery_note_id"),
                       ("delivery_lines", "line_id")):
        keys = [row[key] for row in data.rows[table]]
        assert len(keys) == len(set(keys)), table
    pending = [n for n in data.rows["delivery_notes"] if n["status"] == "pending"]
    assert len(pending) == 80
    assert sum(1 for kind in data.manifest.values() if kind == "duplicate_reference") \
        == len(pending) - len(data.manifest)


@pytest.mark.parametrize("bad", [{"days": -1}, {"defect_rate": 1.5}])
def test_rejects_impossible_arguments(bad):
    with pytest.raises(ValueError):
        _sample(**bad)
