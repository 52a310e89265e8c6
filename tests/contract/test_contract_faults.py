"""What the client reports under each fault the simulator injects on requests, and what the
simulator shows really happened: an unknown outcome is never a failure, and the job it may have
created is found by reference_number before anything is sent again."""

from __future__ import annotations

import time

import pytest
from contract_support import (
    FAST_RETRIES,
    injected,
    job,
    job_ids_for,
    make_client,
    seed_with_server_errors,
    unique,
)

from fleet_pipeline.fleet_api import (
    OutcomeUnknown,
    RateLimited,
    RetryPolicy,
    ServerError,
    Timeouts,
)


class RecordedWaits(list):
    """A retry policy's sleep that notes each wait; `real` also waits it out."""

    def __init__(self, *, real: bool) -> None:
        super().__init__()
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.real:
            time.sleep(seconds)


def found_later(client, reference: str, timeout_s: float = 5.0) -> list:
    """The look-up that follows an unknown outcome; the server may still be finishing the job."""
    deadline = time.monotonic() + timeout_s
    while not (found := client.find_job_by_reference(reference)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_slow_create_times_out_as_unknown_and_the_job_is_found_by_reference(start_simulator):
    simulator = start_simulator(faults={"latency": {"create": 1.0}})
    reference = unique("SLOW")
    with make_client(simulator, timeouts=Timeouts(read=0.3)) as client:
        with pytest.raises(OutcomeUnknown) as unknown:
            client.create_job(job(reference))
        assert not unknown.value.retryable
        assert "ReadTimeout" in unknown.value.cause
        # Look up before re-creating: the job was created although the client never heard so.
        (found,) = found_later(client, reference)
    assert job_ids_for(simulator, reference) == [found.job_id]


def test_5xx_on_create_is_unknown_and_sent_once(start_simulator):
    simulator = start_simulator(faults={"error_rate": {"create": 1.0}})
    reference = unique("CREATE500")
    with make_client(simulator) as client, pytest.raises(OutcomeUnknown) as unknown:
        client.create_job(job(reference))
    assert unknown.value.status == 500
    assert not unknown.value.retryable
    assert injected(simulator) == {"server_error.create": 1}
    assert job_ids_for(simulator, reference) == []


def test_5xx_on_a_read_is_retried_until_it_succeeds(start_simulator):
    seed = seed_with_server_errors("get", 0.5, [True, True, False])
    simulator = start_simulator(faults={"seed": seed, "error_rate": {"get": 0.5}})
    with make_client(simulator) as client:
        created = client.create_job(job(unique("GET500")))
        assert client.get_job(created.job_id).job_id == created.job_id
    assert injected(simulator) == {"server_error.get": 2}


def test_5xx_on_every_read_ends_as_server_error_after_the_allowed_attempts(start_simulator):
    simulator = start_simulator(faults={"error_rate": {"get": 1.0}})
    with make_client(simulator) as client:
        created = client.create_job(job(unique("GETDOWN")))
        with pytest.raises(ServerError) as down:
            client.get_job(created.job_id)
    assert down.value.status == 500
    assert injected(simulator) == {"server_error.get": FAST_RETRIES.max_attempts}


def test_429_burst_is_waited_out_as_announced_then_succeeds(start_simulator):
    simulator = start_simulator(
        faults={
            "rate_limit_burst_every": 3,
            "rate_limit_burst_length": 2,
            "rate_limit_burst_retry_after_s": 1,
        }
    )
    # Bursts refuse by request count, not time: the waits are noted, not slept.
    waits = RecordedWaits(real=False)
    policy = RetryPolicy(max_attempts=4, sleep=waits)
    with make_client(simulator, retry_policy=policy) as client:
        created = client.create_job(job(unique("BURST")))  # request 1
        client.get_job(created.job_id)  # request 2
        fetched = client.get_job(created.job_id)  # requests 3 and 4 refused, 5 answered
    assert fetched.job_id == created.job_id
    assert waits == [1.0, 1.0]
    assert injected(simulator) == {"rate_limit_burst": 2}


def test_spent_budget_is_rate_limited_with_the_announced_wait(start_simulator):
    simulator = start_simulator(rate_limit_per_minute=2, rate_limit_window_s=2.0)
    once = RetryPolicy(max_attempts=1)
    with make_client(simulator, retry_policy=once) as client:
        created = client.create_job(job(unique("BUDGET")))
        client.get_job(created.job_id)
        with pytest.raises(RateLimited) as limited:
            client.get_job(created.job_id)
    assert limited.value.status == 429
    # Whole seconds until the window that opened with the create closes.
    assert limited.value.retry_after in (1.0, 2.0)
    waits = RecordedWaits(real=True)
    with make_client(simulator, retry_policy=RetryPolicy(sleep=waits)) as client:
        assert client.get_job(created.job_id).job_id == created.job_id
    assert len(waits) == 1
    assert 1.0 <= waits[0] <= limited.value.retry_after


@pytest.mark.parametrize(
    ("mode", "status", "cause"),
    [
        ("gateway_timeout", 504, "server error"),
        ("server_error", 500, "server error"),
        ("drop", None, "RemoteProtocolError"),
        ("sleep", None, "ReadTimeout"),
    ],
)
def test_lost_response_is_unknown_while_the_job_exists(start_simulator, mode, status, cause):
    simulator = start_simulator(
        faults={
            "lost_response_rate": 1.0,
            "lost_response_mode": mode,
            "lost_response_sleep_s": 1.0,
        }
    )
    reference = unique(f"LOST-{mode}")
    with make_client(simulator, timeouts=Timeouts(read=0.3)) as client:
        with pytest.raises(OutcomeUnknown) as unknown:
            client.create_job(job(reference))
        (found,) = found_later(client, reference)
    assert (unknown.value.status, unknown.value.retryable) == (status, False)
    assert cause in unknown.value.cause
    assert injected(simulator) == {"lost_response": 1}
    assert job_ids_for(simulator, reference) == [found.job_id]


def create_outcomes(simulator, references: list[str]) -> list[str]:
    outcomes = []
    with make_client(simulator) as client:
        for reference in references:
            try:
                outcomes.append(f"created {client.create_job(job(reference)).job_id}")
            except OutcomeUnknown as unknown:
                outcomes.append(f"unknown {unknown.status}")
    return outcomes


def test_same_seed_same_outcomes(start_simulator):
    settings = {
        "seed": 11,
        "error_rate": {"create": 0.3},
        "lost_response_rate": 0.3,
        "lost_response_mode": "server_error",
    }
    references = [f"SEEDED-{i}" for i in range(16)]
    runs = []
    for _ in range(2):
        simulator = start_simulator(faults=settings)
        runs.append((create_outcomes(simulator, references), injected(simulator)))
    assert runs[0] == runs[1]
    outcomes, counters = runs[0]
    assert {outcome.split()[0] for outcome in outcomes} == {"created", "unknown"}
    assert set(counters) == {"server_error.create", "lost_response"}
