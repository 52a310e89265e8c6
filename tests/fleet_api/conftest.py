"""Clients wired to a scripted Fleet API; retries record their waits instead of sleeping."""

from __future__ import annotations

import pytest
from fleet_api_fakes import BASE_URL, CREDENTIALS, ScriptedApi

from fleet_pipeline.fleet_api import AsyncFleetApiClient, FleetApiClient, RetryPolicy


class RecordedSleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def sleep_async(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def make_client(sleeps):
    clients = []

    def make(api: ScriptedApi, **settings) -> FleetApiClient:
        settings.setdefault("retry_policy", RetryPolicy(sleep=sleeps))
        client = FleetApiClient(BASE_URL, CREDENTIALS, transport=api.transport, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def make_async_client(sleeps):
    def make(api: ScriptedApi, **settings) -> AsyncFleetApiClient:
        settings.setdefault("retry_policy", RetryPolicy(async_sleep=sleeps.sleep_async))
        return AsyncFleetApiClient(BASE_URL, CREDENTIALS, transport=api.transport, **settings)

    return make
