"""Every injected fault does what it says, and the same seed always gives the same outcome."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest
from sim_support import (
    PASSWORD,
    CallbackRecorder,
    bulk_csv,
    flush,
    job_payload,
    make_config,
    simulator_client,
    stop,
    upload,
)

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.simulator.config import Faults
from fleet_pipeline.simulator.faults import FaultInjector

JOBS = "/rest/delivery/jobs"


def statuses(faults: dict[str, Any], requests: list[tuple[str, str]]) -> list[int]:
    """Status codes of a fixed sequence of (method, path) requests under `faults`."""
    with simulator_client(make_config(faults=faults)) as client:
        codes = []
        for number, (method, path) in enumerate(requests):
            if method == "POST":
                codes.append(client.post(path, json=job_payload(f"F-{number}")).status_code)
            else:
                codes.append(client.get(path).status_code)
        return codes


def test_server_errors_are_seeded_and_per_endpoint() -> None:
    requests = [("GET", JOBS)] * 20 + [("POST", JOBS)] * 5
    faults = {"seed": 11, "error_rate": {"list": 0.5}}
    first = statuses(faults, requests)
    assert first == statuses(faults, requests)
    assert set(first[:20]) == {200, 500}
    assert first[20:] == [200] * 5  # only the list endpoint fails
    assert first != statuses({**faults, "seed": 12}, requests)


def test_server_error_body() -> None:
    with simulator_client(make_config(faults={"error_rate": {"create": 1.0}})) as client:
        response = client.post(JOBS, json=job_payload())
        assert response.status_code == 500
        assert response.json()["error"]["code"] == 500
        # an explicit failure: nothing was created
        assert client.get("/_simulator/references").json()["summary"]["total_jobs"] == 0


def test_latency_is_applied_and_drawn_deterministically() -> None:
    with simulator_client(make_config(faults={"latency": {"create": 0.2}})) as client:
        started = time.monotonic()
        assert client.post(JOBS, json=job_payload()).status_code == 200
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        client.get(JOBS)
        assert time.monotonic() - started < 0.2

    def draws(seed: int) -> list[float]:
        injector = FaultInjector(Faults(seed=seed, latency={"create": "5:15"}))
        return [injector.latency("create") for _ in range(5)]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)
    assert all(5 <= value <= 15 for value in draws(3))


def test_rate_limit_bursts_every_nth_request() -> None:
    faults = {"rate_limit_burst_every": 5, "rate_limit_burst_length": 2}
    codes = statuses(faults, [("GET", JOBS)] * 12)
    assert codes == [200, 200, 200, 200, 429, 429, 200, 200, 200, 429, 429, 200]
    with simulator_client(make_config(faults={"rate_limit_burst_every": 1})) as client:
        response = client.get(JOBS)
        assert response.status_code == 429
        assert int(response.headers["X-RateLimit-Retry-After-Seconds"]) == 1
        assert int(response.headers["X-RateLimit-Retry-At"]) >= int(time.time())
        assert response.json()["error"]["code"] == 429


@pytest.mark.parametrize(("mode", "status"), [("gateway_timeout", 504), ("server_error", 500)])
def test_lost_response_still_creates_the_job(mode: str, status: int) -> None:
    faults = {"lost_response_rate": 1.0, "lost_response_mode": mode}
    with simulator_client(make_config(faults=faults)) as client:
        response = client.post(JOBS, json=job_payload("LOST-1"))
        assert response.status_code == status
        assert "error" in response.json()
        found = client.get(JOBS, params={"filter[reference_number]": "LOST-1"}).json()
        assert found["meta"]["total"] == 1
        assert client.get("/_simulator/faults").json()["injected"] == {"lost_response": 1}


def test_lost_responses_are_seeded_and_independent_of_other_faults() -> None:
    creates = [("POST", JOBS), ("GET", JOBS)] * 10
    lost = {"seed": 5, "lost_response_rate": 0.5}
    pattern = statuses(lost, creates)[::2]
    assert set(pattern) == {200, 504}
    noisy = {**lost, "error_rate": {"list": 0.5}, "latency": {"list": "0:0.001"}}
    assert statuses(noisy, creates)[::2] == pattern


# --- callbacks ----------------------------------------------------------------------------------


def row(reference: str) -> dict[str, Any]:
    return {"reference_number": reference, "job_type_id": 3, "stops": [stop()]}


def run_uploads(faults: dict[str, Any], uploads: int = 3, rows: int = 4, **settings):
    """Upload `uploads` files one after the other; the recorder and the uploads report."""
    recorder = CallbackRecorder()
    with simulator_client(make_config(faults=faults, **settings), recorder) as client:
        for number in range(uploads):
            content = bulk_csv([row(f"U{number}-R{i}") for i in range(rows)])
            response = upload(client, content, webhook_url=f"https://erp.example/cb/{number}")
            assert response.status_code == 200
        flush(client)
        report = client.get("/_simulator/uploads").json()["uploads"]
    return recorder, report


def test_dropped_callbacks_are_never_sent() -> None:
    recorder, report = run_uploads({"callback_drop_rate": 1.0})
    assert recorder.requests == []
    assert [u["callbacks"][0]["status"] for u in report] == ["dropped"] * 3
    assert all(u["created"] == 4 for u in report)  # the jobs exist all the same


def test_duplicated_callbacks_arrive_twice() -> None:
    recorder, report = run_uploads({"callback_duplicate_rate": 1.0}, uploads=1)
    assert len(recorder.requests) == 2
    assert recorder.requests[0].content == recorder.requests[1].content
    original, copy = report[0]["callbacks"]
    assert copy["duplicate_of"] == original["callback_id"]
    assert original["status"] == copy["status"] == "delivered"


def test_delayed_callback_waits() -> None:
    _, report = run_uploads({"callback_delay": 0.3}, uploads=1)
    processed = report[0]["processed_at"]
    first_attempt = report[0]["callbacks"][0]["attempts"][0]["at"]
    waited = datetime.fromisoformat(first_attempt) - datetime.fromisoformat(processed)
    assert waited.total_seconds() >= 0.29


def test_shuffled_entries_are_the_same_entries_in_another_order() -> None:
    faults = {"seed": 2, "callback_shuffle_rate": 1.0}
    recorder, report = run_uploads(faults, uploads=1, rows=12)
    (entries,) = recorder.bodies()
    references = [entry["reference_number"] for entry in entries]
    assert sorted(references) == sorted(f"U0-R{i}" for i in range(12))
    assert references != [f"U0-R{i}" for i in range(12)]
    assert report[0]["callbacks"][0]["shuffled"] is True
    again, _ = run_uploads(faults, uploads=1, rows=12)
    assert again.bodies() == recorder.bodies()


def test_held_callback_arrives_after_a_later_upload() -> None:
    # With seed 0 and rate 0.5 the first upload's callback is held and the second's is not.
    faults = {"seed": 0, "callback_hold_rate": 0.5}
    recorder, report = run_uploads(faults, uploads=2)
    assert [str(r.url) for r in recorder.requests] == [
        "https://erp.example/cb/1",
        "https://erp.example/cb/0",
    ]
    assert [u["callbacks"][0]["held"] for u in report] == [True, False]
    assert report[0]["callbacks"][0]["released"] is True


def test_bad_signature_fails_verification_and_is_retried_like_any_refusal() -> None:
    recorder = CallbackRecorder(statuses=[401, 401, 401])
    faults = {"callback_bad_signature_rate": 1.0}
    with simulator_client(make_config(faults=faults), recorder) as client:
        upload(client, bulk_csv([row("S-1")]), webhook_url="https://erp.example/cb/s")
        flush(client)
        (callback,) = client.get("/_simulator/uploads").json()["uploads"][0]["callbacks"]
    assert callback["bad_signature"] is True
    assert callback["status"] == "given_up"
    for request in recorder.requests:
        assert not signature.verify(
            request.content, request.headers["X-Webhook-Signature"], PASSWORD
        )


def callback_story(seed: int) -> list[Any]:
    faults = {
        "seed": seed,
        "callback_drop_rate": 0.3,
        "callback_duplicate_rate": 0.3,
        "callback_shuffle_rate": 0.5,
        "callback_bad_signature_rate": 0.3,
    }
    recorder, report = run_uploads(faults, uploads=6, rows=3)
    outcome = [
        [(c["status"], c["duplicate_of"] is not None, c["bad_signature"]) for c in u["callbacks"]]
        for u in report
    ]
    bodies = sorted(json.dumps(body) for body in recorder.bodies())
    return [outcome, bodies]


def test_callback_faults_are_deterministic_per_seed() -> None:
    story = callback_story(21)
    assert callback_story(21) == story
    assert callback_story(22) != story
