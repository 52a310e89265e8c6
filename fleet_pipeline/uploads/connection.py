"""The Fleet API clients of one send, paced by the account's budget shared through the pipeline
database, so that every process sending for the account (runs of other days, a second worker)
stays inside the one budget together.
"""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from fleet_pipeline.fleet_api import (
    AsyncFleetApiClient,
    FleetApiClient,
    RetryPolicy,
    SqlRateLimiter,
)
from fleet_pipeline.ledger.engine import BUSY_TIMEOUT_SECONDS, make_engine
from fleet_pipeline.uploads.crash import crash_transport
from fleet_pipeline.uploads.settings import ApiSettings


class FleetConnection:
    """Builds clients on `api` paced by a SqlRateLimiter in `db_url` (none when the rate limit is
    0). `transport`/`async_transport` replace the network (tests that count requests);
    `retry_policy` bounds the client's own resending of what is safe to resend."""

    def __init__(
        self,
        api: ApiSettings,
        db_url: str | sa.URL,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.api = api
        self._retry_policy = retry_policy
        self._transport = transport
        self._async_transport = async_transport
        self._limiter_engine = None
        self.limiter = None
        if api.rate_limit_per_minute > 0:
            self._limiter_engine = _limiter_engine(db_url)
            self.limiter = SqlRateLimiter(self._limiter_engine, api.account_key(), api.budget())

    def client(self) -> FleetApiClient:
        transport = self._transport or crash_transport(20, asynchronous=False)
        return FleetApiClient(self.api.base_url, self.api.credentials(),
                              transport=transport, **self._settings(20))

    def async_client(self, concurrency: int) -> AsyncFleetApiClient:
        transport = self._async_transport or crash_transport(concurrency, asynchronous=True)
        return AsyncFleetApiClient(self.api.base_url, self.api.credentials(),
                                   transport=transport, **self._settings(concurrency))

    def close(self) -> None:
        if self._limiter_engine is not None:
            self._limiter_engine.dispose()

    def __enter__(self) -> FleetConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FleetConnection(base_url={self.api.base_url!r})"

    def _settings(self, connections: int) -> dict[str, Any]:
        return {"timeouts": self.api.timeouts(), "rate_limiter": self.limiter,
                "retry_policy": self._retry_policy, "max_connections": connections}


def _limiter_engine(db_url: str | sa.URL) -> sa.Engine:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        # The limiter drives SQLite's BEGIN IMMEDIATE itself on an autocommit connection; the
        # ledger engine opens one on every begin, and two cannot nest.
        return sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
    return make_engine(url)
