"""The endpoint policy: auto sends small days one by one, big ones in bulk."""

from __future__ import annotations

import pytest

from fleet_pipeline.uploads.policy import choose_endpoint
from fleet_pipeline.uploads.settings import SendSettings


@pytest.mark.parametrize(("jobs", "expected"), [(0, "single"), (99, "single"), (100, "bulk"),
                                                (5000, "bulk")])
def test_auto_goes_by_the_number_of_jobs_to_send(jobs, expected):
    assert choose_endpoint("auto", jobs, 100) == expected


@pytest.mark.parametrize("policy", ["bulk", "single"])
def test_a_fixed_policy_holds_whatever_the_count(policy):
    assert choose_endpoint(policy, 1, 100) == policy
    assert choose_endpoint(policy, 10_000, 100) == policy


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="auto, bulk, single"):
        choose_endpoint("fastest", 10, 100)
    with pytest.raises(ValueError, match="endpoint policy"):
        SendSettings(endpoint_policy="fastest")


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLEET_ENDPOINT_POLICY", "single")
    monkeypatch.setenv("FLEET_SINGLE_MAX_JOBS", "7")
    monkeypatch.setenv("FLEET_API_REGION", "za")
    monkeypatch.delenv("FLEET_API_BASE_URL", raising=False)
    monkeypatch.setenv("FLEET_API_PASSWORD", "p4ss-from-env")
    monkeypatch.setenv("FLEET_CALLBACK_DEADLINE_MINUTES", "0.5")
    settings = SendSettings.from_env()
    assert settings.endpoint_policy == "single"
    assert settings.single_max_jobs == 7
    assert settings.api.base_url == "https://fleetapi-za.cartrack.com/rest"
    assert settings.callback_deadline.total_seconds() == 30
    assert settings.api.password == "p4ss-from-env"
    assert "p4ss-from-env" not in repr(settings)
    monkeypatch.setenv("FLEET_API_BASE_URL", "http://127.0.0.1:9999/rest")
    assert SendSettings.from_env().api.base_url == "http://127.0.0.1:9999/rest"
