"""State survives a restart: jobs, uploads and pending callbacks live in the SQLite file."""

from __future__ import annotations

import time

from sim_support import (
    CallbackRecorder,
    bulk_csv,
    flush,
    job_payload,
    make_config,
    simulator_client,
    stop,
    upload,
)

WEBHOOK = "https://erp.example/cb/1"
ROW = {"reference_number": "P-1", "job_type_id": 3, "stops": [stop()]}


def test_jobs_survive_a_restart(tmp_path) -> None:
    config = make_config(db_path=tmp_path / "sim.sqlite")
    with simulator_client(config) as client:
        job = client.post("/rest/delivery/jobs", json=job_payload("KEEP")).json()["data"]
    with simulator_client(config) as client:
        assert client.get(f"/rest/delivery/jobs/{job['job_id']}").json() == {"data": job}
        found = client.get("/rest/delivery/jobs", params={"filter[reference_number]": "KEEP"})
        assert [j["job_id"] for j in found.json()["data"]] == [job["job_id"]]
        again = client.post("/rest/delivery/jobs", json=job_payload("KEEP")).json()["data"]
        assert again["job_id"] > job["job_id"]
        refs = client.get("/_simulator/references").json()
        assert refs["summary"]["duplicates"][0]["job_ids"] == [job["job_id"], again["job_id"]]


def test_pending_callback_is_resumed_after_a_restart(tmp_path) -> None:
    config = make_config(db_path=tmp_path / "sim.sqlite", callback_retry_schedule_s=[0.5])
    failing = CallbackRecorder(statuses=[500, 500])
    with simulator_client(config, failing) as client:
        upload(client, bulk_csv([ROW]), webhook_url=WEBHOOK)
        deadline = time.monotonic() + 5
        while not failing.requests and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(failing.requests) == 1  # stopped before the retry was due

    answering = CallbackRecorder()
    with simulator_client(config, answering) as client:
        flush(client)
        (record,) = client.get("/_simulator/uploads").json()["uploads"]
    assert answering.bodies() == [
        [{"reference_number": "P-1", "job_id": record["rows"][0]["job_id"]}]
    ]
    (callback,) = record["callbacks"]
    assert callback["status"] == "delivered"
    assert [a["status_code"] for a in callback["attempts"]] == [500, 200]


def test_unprocessed_upload_is_processed_after_a_restart(tmp_path) -> None:
    config = make_config(db_path=tmp_path / "sim.sqlite", bulk_processing_delay=0.3)
    first = CallbackRecorder()
    with simulator_client(config, first) as client:
        assert upload(client, bulk_csv([ROW]), webhook_url=WEBHOOK).status_code == 200
        assert client.get("/_simulator/uploads").json()["summary"]["unprocessed"] == 1
    assert first.requests == []

    second = CallbackRecorder()
    with simulator_client(config, second) as client:
        flush(client)
        assert client.get("/rest/delivery/jobs").json()["meta"]["total"] == 1
    assert len(second.requests) == 1
