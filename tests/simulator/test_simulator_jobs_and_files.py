"""The plain functions behind the endpoints: job records, the list query, bulk files, callbacks."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sim_support import bulk_csv, job_payload, stop

from fleet_pipeline.simulator.bulk import callback_body, callback_entry, check_form, parse_rows
from fleet_pipeline.simulator.config import (
    DEFAULT_DRIVERS,
    RuleSettings,
    Seconds,
    SimulatorConfig,
    load_config,
)
from fleet_pipeline.simulator.jobs import build_job, page_meta, parse_job_query
from fleet_pipeline.simulator.ratelimit import RateLimiter

NOW = datetime(2026, 3, 2, 8, 0, 0)


def test_job_record_has_ids_status_and_echoes_the_request() -> None:
    payload = job_payload("REF-9", delivery_driver_name="anna botha", labels=["x"])
    job = build_job(payload, job_id=7, now=NOW, drivers=DEFAULT_DRIVERS, settings=RuleSettings())
    assert job["job_id"] == 7
    assert isinstance(job["order_id"], str) and job["order_id"]
    assert job["reference_number"] == "REF-9"
    assert job["job_status_id"] == 4  # assigned
    assert job["delivery_driver_name"] == "Anna Botha"
    assert job["labels"] == ["x"]
    assert job["create_ts"] == "2026-03-02 08:00:00"
    assert [s["stop_id"] for s in job["stops"]] == [71]
    assert job["stops"][0]["address_line_1"] == "1 Main Rd"
    assert job["items"][0]["tracking_number"] == "TN-1"


def test_job_without_driver_is_assign_later_and_asap_converts_to_unscheduled() -> None:
    payload = job_payload(schedule_type_id=1, scheduled_delivery_ts=None, job_type_id=1)
    payload["stops"] = [stop(), stop()]
    job = build_job(
        payload,
        job_id=8,
        now=NOW,
        drivers=DEFAULT_DRIVERS,
        settings=RuleSettings(asap_schedule="convert"),
    )
    assert job["job_status_id"] == 2
    assert job["schedule_type_id"] == 3
    assert [s["stop_id"] for s in job["stops"]] == [81, 82]


def query(params: dict[str, str], **limits):
    settings = {"default_page_size": 100, "max_page_size": 1000, "over_max": "clamp", **limits}
    return parse_job_query(params, **settings)


def test_list_query_reads_filters_and_paging() -> None:
    parsed, errors = query(
        {
            "filter[reference_number]": "R1",
            "filter[job_id]": "12",
            "filter[create_ts_from]": "2026-03-01",
            "filter[create_ts_to]": "2026-03-01",
            "filter[scheduled_delivery_ts_from]": "2026-03-02 10:00:00",
            "page": "3",
            "limit": "50",
        }
    )
    assert errors == {}
    assert parsed.exact == {"reference_number": "R1", "job_id": 12}
    assert parsed.ranges == {
        "create_ts": ("2026-03-01 00:00:00", "2026-03-01 23:59:59"),
        "scheduled_delivery_ts": ("2026-03-02 10:00:00", None),
    }
    assert (parsed.page, parsed.per_page, parsed.offset) == (3, 50, 100)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filter[job_id]": "abc"}, "filter.job_id"),
        ({"filter[create_ts_from]": "01/03/2026"}, "filter.create_ts_from"),
        ({"page": "0"}, "page"),
        ({"limit": "-5"}, "limit"),
    ],
)
def test_list_query_refuses_bad_values(params: dict[str, str], field: str) -> None:
    parsed, errors = query(params)
    assert parsed is None
    assert list(errors) == [field]


def test_page_size_over_the_max_is_clamped_or_refused() -> None:
    clamped, _ = query({"limit": "5000"}, max_page_size=1000)
    assert clamped.per_page == 1000
    refused, errors = query({"limit": "5000"}, max_page_size=1000, over_max="reject")
    assert refused is None and errors == {"limit": ["The limit must not be greater than 1000."]}


@pytest.mark.parametrize(
    ("total", "page", "per_page", "count", "expected"),
    [
        (0, 1, 10, 0, (None, None, 1)),
        (25, 1, 10, 10, (1, 10, 3)),
        (25, 3, 10, 5, (21, 25, 3)),
        (25, 4, 10, 0, (None, None, 3)),
    ],
)
def test_page_meta(total, page, per_page, count, expected) -> None:
    meta = page_meta(total, page, per_page, count)
    assert (meta["from"], meta["to"], meta["last_page"]) == expected
    assert (meta["current_page"], meta["per_page"], meta["total"]) == (page, per_page, total)


def test_bulk_rows_parse_json_cells_and_keep_bad_json_as_row_errors() -> None:
    content = bulk_csv(
        [
            {"reference_number": "A", "job_type_id": 3, "stops": [stop()], "labels": "a, b"},
            {"reference_number": "B", "job_type_id": 3, "stops": "[{broken", "items": "[]"},
        ]
    )
    rows, errors = parse_rows(content, max_jobs=10)
    assert errors == {}
    assert [row.reference_number for row in rows] == ["A", "B"]
    assert rows[0].payload["stops"] == [stop()]
    assert rows[0].payload["labels"] == ["a", "b"]
    assert rows[0].parse_errors == {}
    assert "stops" not in rows[1].payload
    assert rows[1].parse_errors == {"stops": ["The stops must be a valid JSON string."]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bulk_csv([]), "The file must contain at least one job."),
        (bulk_csv([{"reference_number": str(i)} for i in range(4)]), "not contain more than 3"),
        ("reference_number\n\xe9\n".encode("latin-1"), "UTF-8"),
    ],
)
def test_bulk_file_level_errors(content: bytes, message: str) -> None:
    rows, errors = parse_rows(content, max_jobs=3)
    assert rows == []
    assert message in errors["file"][0]


def test_bulk_form_checks() -> None:
    assert check_form("jobs.CSV", 10, "v1", max_bytes=100) == {}
    assert check_form("jobs.xlsx", 10, None, max_bytes=100) == {
        "file": ["The file must be a file of type: csv."]
    }
    assert check_form("jobs.csv", 101, "v2", max_bytes=100 * 1024)["template_version"] == [
        "The selected template_version is invalid."
    ]
    assert check_form("jobs.csv", 10 * 1024 * 1024 + 1, None, max_bytes=10 * 1024 * 1024) == {
        "file": ["The file must not be greater than 10240 kilobytes."]
    }


def test_callback_body_is_a_bare_array() -> None:
    body = callback_body([callback_entry("A", 5, {}), callback_entry("B", None, {"x": ["bad"]})])
    assert json.loads(body) == [
        {"reference_number": "A", "job_id": 5},
        {"reference_number": "B", "errors": {"x": ["bad"]}},
    ]


def test_rate_limiter_window_and_retry_headers_values() -> None:
    limiter = RateLimiter(limit=2, window_s=60)
    assert limiter.hit("a", 1000.0) is None
    assert limiter.hit("a", 1001.0) is None
    assert limiter.hit("b", 1001.0) is None  # the budget is per account
    refusal = limiter.hit("a", 1010.2)
    assert (refusal.retry_at, refusal.retry_after_s) == (1060, 50)
    assert limiter.hit("a", 1060.0) is None  # a new window
    assert RateLimiter(limit=0, window_s=60).hit("a", 0) is None  # switched off


def test_config_short_forms_and_files(tmp_path) -> None:
    assert Seconds.model_validate(11) == Seconds(low=11, high=11)
    assert Seconds.model_validate("0.5:2") == Seconds(low=0.5, high=2)
    assert Seconds.model_validate([1, 3]) == Seconds(low=1, high=3)
    yaml_file = tmp_path / "sim.yaml"
    yaml_file.write_text(
        "duplicate_reference: reject\nfaults:\n  seed: 7\n  latency: {create: 11}\n",
        encoding="utf-8",
    )
    config = load_config(yaml_file)
    assert config.duplicate_reference == "reject"
    assert config.faults.latency["create"] == Seconds(low=11, high=11)
    json_file = tmp_path / "sim.json"
    json_file.write_text(json.dumps({"api_prefix": "fleet/"}), encoding="utf-8")
    assert load_config(json_file).api_prefix == "/fleet"
    with pytest.raises(ValueError, match="extra"):
        SimulatorConfig.model_validate({"no_such_setting": 1})


def test_passwords_stay_out_of_reprs() -> None:
    config = SimulatorConfig.model_validate(
        {"accounts": [{"username": "u", "password": "hunter2"}], "callback_signing_key": "k3y!"}
    )
    assert "hunter2" not in repr(config) and "k3y!" not in repr(config)
