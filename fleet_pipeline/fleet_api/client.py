"""The Fleet API clients: `FleetApiClient` (sync) and `AsyncFleetApiClient` (async).

Both are thin: each operation is built and read by fleet_api.operations; a client only paces
(rate limiter), sends (httpx), and resends what is safe to resend (RetryPolicy).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from fleet_pipeline.fleet_api import operations as ops
from fleet_pipeline.fleet_api.errors import FleetApiError
from fleet_pipeline.fleet_api.models import BulkUploadAccepted, Job, JobPage
from fleet_pipeline.fleet_api.ratelimit import RateLimiter
from fleet_pipeline.fleet_api.retry import RetryPolicy
from fleet_pipeline.fleet_api.template import TEMPLATE_VERSION
from fleet_pipeline.fleet_api.upload import Payload

T = TypeVar("T")

DEFAULT_USER_AGENT = f"fleet-pipeline (httpx/{httpx.__version__})"


def region_base_url(region: str) -> str:
    """`za` -> `https://fleetapi-za.cartrack.com/rest`. A wrong region answers 401."""
    code = region.strip().lower()
    if not re.fullmatch(r"[a-z]{2}", code):
        raise ValueError("a region is a two-letter country code such as 'za'")
    return f"https://fleetapi-{code}.cartrack.com/rest"


@dataclass(frozen=True, repr=False)
class Credentials:
    """Account user name and API password; neither shows in repr or str."""

    username: str
    password: str

    def __repr__(self) -> str:
        return "Credentials(username=<hidden>, password=<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True)
class Timeouts:
    """Seconds. Generous: a single create has been seen to take ~11 s in production."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 30.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class _ClientSettings:
    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        timeouts: Timeouts | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        rate_limiter: RateLimiter | None = None,
        retry_policy: RetryPolicy | None = None,
        max_connections: int = 20,
    ) -> None:
        url = httpx.URL(base_url)
        if url.userinfo:
            raise ValueError("the base URL must not hold credentials: pass them as Credentials")
        if url.scheme not in ("https", "http"):
            raise ValueError("the base URL must be http(s)")
        self.base_url = str(url).rstrip("/")
        self.rate_limiter = rate_limiter
        self.retry_policy = retry_policy or RetryPolicy()
        self._httpx_arguments: dict[str, Any] = {
            "base_url": self.base_url,
            "auth": httpx.BasicAuth(credentials.username, credentials.password),
            "timeout": (timeouts or Timeouts()).to_httpx(),
            "headers": {"User-Agent": user_agent, "Accept": "application/json"},
            "limits": httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            "follow_redirects": False,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class FleetApiClient(_ClientSettings):
    """Blocking client. Use as a context manager, or call close()."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(base_url, credentials, **settings)
        self._http = httpx.Client(transport=transport, **self._httpx_arguments)

    def create_job(self, payload: Payload) -> Job:
        """Create one job. Raises ValidationFailed/CreateFailed (no), OutcomeUnknown (maybe)."""
        return self._call(ops.create_job_request(payload))

    def bulk_upload(
        self,
        jobs: Sequence[Payload] | bytes,
        *,
        webhook_url: str | None = None,
        webhook_field: str = "webhook_url",
        template_version: str = TEMPLATE_VERSION,
        filename: str = "jobs.csv",
    ) -> BulkUploadAccepted:
        """Send up to 1,000 jobs (payloads, or a ready CSV); results come to `webhook_url`."""
        return self._call(
            ops.bulk_upload_request(
                jobs,
                webhook_url=webhook_url,
                webhook_field=webhook_field,
                template_version=template_version,
                filename=filename,
            )
        )

    def find_jobs_page(
        self, *, page: int = 1, limit: int = ops.DEFAULT_PAGE_SIZE, **filters: Any
    ) -> JobPage:
        return self._call(ops.find_jobs_request(page=page, limit=limit, filters=filters))

    def find_jobs(self, *, limit: int = ops.DEFAULT_PAGE_SIZE, **filters: Any) -> Iterator[Job]:
        """Every job matching `filters` (names from operations.JOB_FILTERS), page after page."""
        page: int | None = 1
        while page is not None:
            result = self.find_jobs_page(page=page, limit=limit, **filters)
            yield from result.data
            page = ops.next_page(page, result, limit)

    def find_job_by_reference(self, reference_number: str) -> list[Job]:
        """Jobs whose reference_number is exactly this one (the filter's matching is not
        documented, so the answer is checked here)."""
        return [
            job
            for job in self.find_jobs(reference_number=reference_number)
            if job.reference_number == reference_number
        ]

    def get_job(self, job_id: int) -> Job:
        return self._call(ops.get_job_request(job_id))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FleetApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, request: ops.ApiRequest[T]) -> T:
        return self.retry_policy.call(self._attempt, request)

    def _attempt(self, request: ops.ApiRequest[T]) -> T:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        started = time.perf_counter()
        try:
            answer: httpx.Response | httpx.HTTPError = self._http.request(
                **request.send_arguments()
            )
        except httpx.HTTPError as exc:
            answer = exc
        # Settled outside the except block so that no httpx exception (which holds the request
        # and its Authorization header) is chained to the error raised.
        return ops.settle(
            request,
            answer,
            time.perf_counter() - started,
            default_retry_after=self.retry_policy.default_retry_after,
        )


class AsyncFleetApiClient(_ClientSettings):
    """Asyncio client; `create_jobs` runs bounded concurrent creates."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(base_url, credentials, **settings)
        self._http = httpx.AsyncClient(transport=transport, **self._httpx_arguments)

    async def create_job(self, payload: Payload) -> Job:
        return await self._call(ops.create_job_request(payload))

    async def create_jobs(
        self, payloads: Iterable[Payload], *, concurrency: int = 8
    ) -> AsyncIterator[tuple[int, Job | FleetApiError]]:
        """Create each payload, at most `concurrency` at a time; yields (index, Job or error) as
        each finishes, so the caller can record every outcome the moment it is known.

        Stopping the iteration early cancels the creates still in flight: a payload whose index
        was not yielded may or may not have been created.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int, payload: Payload) -> tuple[int, Job | FleetApiError]:
            async with gate:
                try:
                    return index, await self.create_job(payload)
                except FleetApiError as error:
                    return index, error

        tasks = [asyncio.ensure_future(one(i, p)) for i, p in enumerate(payloads)]
        try:
            for finished in asyncio.as_completed(tasks):
                yield await finished
        finally:
            for task in tasks:
                task.cancel()

    async def bulk_upload(
        self,
        jobs: Sequence[Payload] | bytes,
        *,
        webhook_url: str | None = None,
        webhook_field: str = "webhook_url",
        template_version: str = TEMPLATE_VERSION,
        filename: str = "jobs.csv",
    ) -> BulkUploadAccepted:
        return await self._call(
            ops.bulk_upload_request(
                jobs,
                webhook_url=webhook_url,
                webhook_field=webhook_field,
                template_version=template_version,
                filename=filename,
            )
        )

    async def find_jobs_page(
        self, *, page: int = 1, limit: int = ops.DEFAULT_PAGE_SIZE, **filters: Any
    ) -> JobPage:
        return await self._call(ops.find_jobs_request(page=page, limit=limit, filters=filters))

    async def find_jobs(
        self, *, limit: int = ops.DEFAULT_PAGE_SIZE, **filters: Any
    ) -> AsyncIterator[Job]:
        page: int | None = 1
        while page is not None:
            result = await self.find_jobs_page(page=page, limit=limit, **filters)
            for job in result.data:
                yield job
            page = ops.next_page(page, result, limit)

    async def find_job_by_reference(self, reference_number: str) -> list[Job]:
        return [
            job
            async for job in self.find_jobs(reference_number=reference_number)
            if job.reference_number == reference_number
        ]

    async def get_job(self, job_id: int) -> Job:
        return await self._call(ops.get_job_request(job_id))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFleetApiClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _call(self, request: ops.ApiRequest[T]) -> T:
        return await self.retry_policy.call_async(self._attempt, request)

    async def _attempt(self, request: ops.ApiRequest[T]) -> T:
        if self.rate_limiter is not None:
            await self.rate_limiter.acquire_async()
        started = time.perf_counter()
        try:
            answer: httpx.Response | httpx.HTTPError = await self._http.request(
                **request.send_arguments()
            )
        except httpx.HTTPError as exc:
            answer = exc
        # Settled outside the except block so that no httpx exception (which holds the request
        # and its Authorization header) is chained to the error raised.
        return ops.settle(
            request,
            answer,
            time.perf_counter() - started,
            default_retry_after=self.retry_policy.default_retry_after,
        )
