"""Round trip from the sample ERP through our validation to the simulated Fleet API: a row our
contract accepts is accepted by the API, by the single create and by the bulk upload alike, and
the defects the generator plants are stopped by us, never left for the API to find."""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import timedelta

import pyarrow.parquet as pq
import pytest
from contract_support import NOW, fixed_clock, make_client, make_config

from fleet_pipeline.erp.extract import extract_day
from fleet_pipeline.erp.sample.roster import fleet_roster
from fleet_pipeline.erp.sample.writer import seed
from fleet_pipeline.erp.source import connect, load_source
from fleet_pipeline.fleet_api import ValidationFailed, build_upload_csv, parse_callback
from fleet_pipeline.simulator import running_simulator
from fleet_pipeline.uploads.batching import HEADER
from fleet_pipeline.uploads.planning import known_rows
from fleet_pipeline.validation.partition import validate_partition
from fleet_pipeline.validation.settings import ValidationSettings

DAY = (NOW + timedelta(days=1)).date()  # the simulator's clock stands at NOW
PER_DAY = 120
DEFECT_RATE = 0.3


@pytest.fixture(scope="module")
def erp(tmp_path_factory) -> tuple[str, object]:
    """The seeded sample ERP's folder and URL."""
    folder = tmp_path_factory.mktemp("round_trip")
    url = f"sqlite:///{folder / 'erp.sqlite'}"
    seed(url, 1, PER_DAY, 23, DAY, DEFECT_RATE)
    return folder, url


@pytest.fixture(scope="module")
def validated(erp) -> tuple[list[dict], int]:
    """The day's valid payloads and the number of rejected deliveries."""
    folder, url = erp
    engine = connect(url)
    extract_day(engine, load_source(), DAY, folder)
    engine.dispose()
    outcome = validate_partition(folder, DAY, NOW, ValidationSettings())
    jobs = pq.read_table(outcome.valid_jobs_path).column("payload").to_pylist()
    return [json.loads(body) for body in jobs], outcome.rejected


@pytest.fixture(scope="module")
def validated_file(erp, validated) -> bytes:
    """The day's jobs as one template v1 file made of the CSV rows validation wrote."""
    folder, _ = erp
    rows = known_rows(folder, DAY)
    assert rows is not None and rows["csv_row"].null_count == 0
    return HEADER + "".join(rows["csv_row"].to_pylist()).encode("utf-8")


@pytest.fixture
def start_account(erp, receiver):
    """`start_account()`: a fresh simulator whose account knows the sample ERP's drivers."""
    engine = connect(erp[1])
    roster = fleet_roster(engine)
    engine.dispose()
    with ExitStack() as stack:
        yield lambda: stack.enter_context(running_simulator(make_config(drivers=roster),
                                                            clock=fixed_clock))


def test_the_generator_defects_are_stopped_by_our_contract(validated):
    payloads, rejected = validated
    assert rejected >= PER_DAY * DEFECT_RATE * 0.5
    assert len(payloads) + rejected >= PER_DAY


def test_every_valid_row_is_created_one_by_one(validated, start_account):
    payloads, _ = validated
    simulator = start_account()
    assert any(p.get("delivery_driver_name") for p in payloads)  # drivers are part of the trip
    refused: dict[str, object] = {}
    with make_client(simulator) as client:
        for payload in payloads:
            try:
                client.create_job(payload)
            except ValidationFailed as exc:
                refused[payload["reference_number"]] = exc.errors
    assert refused == {}


def test_every_valid_row_is_created_by_a_bulk_upload(validated, start_account, receiver):
    payloads, _ = validated
    _assert_every_job_created(payloads, payloads, start_account, receiver)


def test_the_rows_validation_wrote_are_the_builders_file_and_are_all_created(
        validated, validated_file, start_account, receiver):
    payloads, _ = validated
    assert validated_file == bytes(build_upload_csv(payloads))
    _assert_every_job_created(validated_file, payloads, start_account, receiver)


def _assert_every_job_created(upload, payloads, start_account, receiver):
    """Bulk-upload `upload` (payloads or a CSV file) and check that the callback reports every
    one of `payloads` created, nothing else."""
    simulator = start_account()
    url = receiver.new_url()
    with make_client(simulator) as client:
        client.bulk_upload(upload, webhook_url=url)
    (delivery,) = receiver.wait_for(url, 1)
    entries = parse_callback(delivery.body)
    assert sorted(e.reference_number for e in entries) == sorted(
        p["reference_number"] for p in payloads)
    assert {e.reference_number: e.errors for e in entries if e.errors} == {}
    assert all(e.job_id for e in entries)
