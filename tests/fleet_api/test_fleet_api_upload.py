"""The template v1 CSV: columns, JSON cells, quoting, and the limits checked before sending."""

from __future__ import annotations

import csv
import io
import json
import pickle
from datetime import datetime
from decimal import Decimal

import pytest
from fleet_api_fakes import sample_payload

from fleet_pipeline.fleet_api.errors import UploadTooLarge
from fleet_pipeline.fleet_api.models import JobPayload
from fleet_pipeline.fleet_api.template import MAX_UPLOAD_BYTES, TEMPLATE_V1_COLUMNS
from fleet_pipeline.fleet_api.upload import (
    FieldsNotInTemplate,
    UploadCsv,
    build_upload_csv,
    check_upload_file,
    count_csv_jobs,
)


def read_csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def test_header_is_template_v1_in_order():
    content = build_upload_csv([sample_payload()])
    assert content.split(b"\r\n")[0].decode() == ",".join(TEMPLATE_V1_COLUMNS)


def test_cells_hold_scalars_and_json():
    payload = sample_payload(
        delivery_driver_name="Sipho Dlamini",
        scheduled_delivery_ts=datetime(2026, 3, 2, 8, 0),
        schedule_type_id=2,
        labels=["fragile", "cold chain"],
        subuser_id=Decimal("7"),
    )
    (row,) = read_csv(build_upload_csv([payload]))
    assert row["reference_number"] == "CART202502260001"
    assert row["job_type_id"] == "3"
    assert row["schedule_type_id"] == "2"
    assert row["scheduled_delivery_ts"] == "2026-03-02 08:00:00"
    assert row["subuser_id"] == "7"
    assert row["delivery_driver_id"] == ""
    assert json.loads(row["labels"]) == ["fragile", "cold chain"]
    assert json.loads(row["stops"]) == payload["stops"]
    assert json.loads(row["items"]) == payload["items"]


def test_models_and_mappings_give_the_same_file():
    mapping = sample_payload()
    model = JobPayload.model_validate(mapping)
    assert build_upload_csv([model]) == build_upload_csv([mapping])


def test_commas_quotes_newlines_and_non_ascii_survive():
    tricky = 'Unit 4, "Bay" 7\nBack gate, São Paulo – Zoë 北京'
    payload = sample_payload()
    payload["stops"][0]["note"] = tricky
    payload["delivery_driver_name"] = "Zoë, N'Dour"
    content = build_upload_csv([payload, sample_payload("CART202502260002")])
    rows = read_csv(content)
    assert len(rows) == 2
    assert rows[0]["delivery_driver_name"] == "Zoë, N'Dour"
    assert json.loads(rows[0]["stops"])[0]["note"] == tricky
    assert "São Paulo".encode() in content  # UTF-8, not escaped
    assert count_csv_jobs(content) == 2


def test_refuses_1001_jobs_without_reading_further():
    consumed = 0

    def endless():
        nonlocal consumed
        while True:
            consumed += 1
            yield sample_payload(f"R{consumed}")

    with pytest.raises(UploadTooLarge, match="more than 1000 jobs"):
        build_upload_csv(endless())
    assert consumed == 1001


def test_accepts_exactly_1000_jobs():
    content = build_upload_csv(sample_payload(f"R{i}") for i in range(1000))
    assert count_csv_jobs(content) == 1000


def test_refuses_a_file_over_10_mb():
    payloads = []
    for i in range(1000):
        payload = sample_payload(f"R{i}")
        payload["stops"][0]["note"] = "n" * (MAX_UPLOAD_BYTES // 1000)
        payloads.append(payload)
    with pytest.raises(UploadTooLarge) as caught:
        build_upload_csv(payloads)
    assert caught.value.size_bytes > MAX_UPLOAD_BYTES
    assert caught.value.jobs == 1000


def test_refuses_fields_the_template_cannot_carry():
    with pytest.raises(FieldsNotInTemplate) as caught:
        build_upload_csv([sample_payload(plan_id=4, special_equipment=[1])])
    assert caught.value.fields == ["plan_id", "special_equipment"]


def test_unset_optional_fields_are_not_a_template_problem():
    assert count_csv_jobs(build_upload_csv([sample_payload(plan_id=None)])) == 1


@pytest.mark.parametrize(
    ("payloads", "reason"),
    [
        ([], "at least one job"),
        ([sample_payload(reference=None)], "without a reference_number"),
        ([sample_payload("A"), sample_payload("A")], "repeats"),
    ],
)
def test_refuses_files_a_callback_could_not_be_matched_to(payloads, reason):
    with pytest.raises(ValueError, match=reason):
        build_upload_csv(payloads)


def test_ready_made_csv_is_counted_and_checked():
    content = build_upload_csv(sample_payload(f"R{i}") for i in range(3))
    assert check_upload_file(b"\xef\xbb\xbf" + content) == 3
    header = content.split(b"\r\n")[0]
    too_many = header + b"\r\n" + b"x,3\r\n" * 1001
    with pytest.raises(UploadTooLarge):
        check_upload_file(too_many)
    with pytest.raises(UploadTooLarge):
        check_upload_file(b"x" * (MAX_UPLOAD_BYTES + 1))
    with pytest.raises(ValueError, match="UTF-8"):
        check_upload_file(header + b"\r\n\xff,3\r\n")


def test_a_built_file_carries_its_count_and_is_not_read_again(monkeypatch):
    content = build_upload_csv(sample_payload(f"R{i}") for i in range(3))
    assert isinstance(content, UploadCsv) and content.jobs == 3
    assert pickle.loads(pickle.dumps(content)).jobs == 3

    def no_recount(_: bytes) -> int:
        raise AssertionError("a file built here was counted again")

    monkeypatch.setattr("fleet_pipeline.fleet_api.upload.count_csv_jobs", no_recount)
    assert check_upload_file(content) == 3
    with pytest.raises(UploadTooLarge):
        check_upload_file(UploadCsv(content, 1001))
    with pytest.raises(AssertionError, match="counted again"):
        check_upload_file(bytes(content))
