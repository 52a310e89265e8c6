"""The simulated Fleet API as a FastAPI app: the real paths, auth, payloads and error bodies under
`config.api_prefix` (`/rest` by default), plus `/_simulator/...` for inspection.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import time
from collections.abc import Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from fleet_pipeline.simulator import errors
from fleet_pipeline.simulator.bulk import check_form, parse_rows
from fleet_pipeline.simulator.config import Endpoint, Faults, SimulatorConfig
from fleet_pipeline.simulator.faults import FaultInjector
from fleet_pipeline.simulator.inspection import references_report, uploads_report
from fleet_pipeline.simulator.jobs import page_meta, parse_job_query
from fleet_pipeline.simulator.ratelimit import RateLimiter, refusal_until
from fleet_pipeline.simulator.rules import as_int
from fleet_pipeline.simulator.service import Clock, FleetService, utc_now
from fleet_pipeline.simulator.store import SimulatorStore
from fleet_pipeline.simulator.worker import CallbackWorker


@dataclass(frozen=True)
class Simulator:
    """The parts of a running simulator, on `app.state.simulator`, for tests to reach into."""

    config: SimulatorConfig
    store: SimulatorStore
    faults: FaultInjector
    service: FleetService
    worker: CallbackWorker
    limiter: RateLimiter


def create_app(
    config: SimulatorConfig,
    *,
    clock: Clock = utc_now,
    callback_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The simulator app. `clock` is the account's notion of now (aware datetime) for the rules;
    `callback_transport` replaces the network for callback deliveries (tests)."""
    store = SimulatorStore(config.db_path)
    faults = FaultInjector(config.faults)
    service = FleetService(config, store, faults, clock)
    worker = CallbackWorker(config, store, service, callback_transport)
    limiter = RateLimiter(config.rate_limit_per_minute, config.rate_limit_window_s)
    sim = Simulator(config, store, faults, service, worker, limiter)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        worker.start()
        try:
            yield
        finally:
            await worker.stop()

    app = FastAPI(
        title="Cartrack Fleet API simulator",
        lifespan=lifespan,
        docs_url="/_simulator/docs",
        redoc_url=None,
        openapi_url="/_simulator/openapi.json",
    )
    app.state.simulator = sim
    app.add_exception_handler(errors.ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.include_router(_api_router(sim), prefix=config.api_prefix)
    app.include_router(_inspection_router(sim))
    return app


async def _api_error(_: Request, exc: errors.ApiError) -> JSONResponse:
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        errors.error_body(exc.status_code, str(exc.detail)),
        status_code=exc.status_code,
        headers=exc.headers,
    )


def authenticated_account(authorization: str | None, config: SimulatorConfig) -> str | None:
    """The account name when the Basic credentials match one; compared in constant time."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    account = config.account(username)
    if account is None:
        return None
    expected = account.password.get_secret_value().encode()
    return username if hmac.compare_digest(password.encode(), expected) else None


def _guard(sim: Simulator, endpoint: Endpoint) -> Callable[[Request], Coroutine[Any, Any, str]]:
    """Auth, rate limit, then the injected latency and 5xx for this endpoint."""

    async def guard(request: Request) -> str:
        account = authenticated_account(request.headers.get("authorization"), sim.config)
        if account is None:
            raise errors.unauthenticated()
        now = time.time()
        if sim.faults.rate_limit_burst():
            retry_after = sim.config.faults.rate_limit_burst_retry_after_s
            raise errors.too_many_requests(refusal_until(now + retry_after, now))
        refusal = sim.limiter.hit(account, now)
        if refusal is not None:
            raise errors.too_many_requests(refusal)
        delay = sim.faults.latency(endpoint)
        if delay:
            # Take the whole request in first (Starlette keeps it for the endpoint): a client that
            # gives up during a slow answer must not undo the job, as with the real API.
            await request.body()
            await asyncio.sleep(delay)
        if sim.faults.server_error(endpoint):
            raise errors.server_error()
        return account

    return guard


async def _json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object; like Laravel, an unreadable body is an empty input."""
    try:
        payload = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _api_router(sim: Simulator) -> APIRouter:
    router = APIRouter()
    config = sim.config

    @router.post("/delivery/jobs")
    async def create_job(
        request: Request, account: str = Depends(_guard(sim, "create"))
    ) -> Response:
        payload = await _json_object(request)
        job, problems = await asyncio.to_thread(sim.service.create_job, account, payload)
        if problems:
            raise errors.validation_failed(problems)
        if sim.faults.lost_response():
            return await _lost_response(config.faults, job)
        return JSONResponse({"data": job})

    @router.post("/delivery/jobs/bulk-upload")
    async def bulk_upload(
        request: Request, account: str = Depends(_guard(sim, "bulk_upload"))
    ) -> Response:
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            message = (
                "The file field is required." if upload is None else "The file must be a file."
            )
            raise errors.validation_failed({"file": [message]})
        content = await upload.read()
        webhook_field = "webhook_url" if form.get("webhook_url") else "webhooks_url"
        webhook_url = str(form.get(webhook_field) or "") or None
        template_version = str(form.get("template_version") or "") or None
        problems = check_form(
            upload.filename or "",
            len(content),
            template_version,
            max_bytes=config.max_upload_bytes,
        )
        if webhook_url is not None and not _is_http_url(webhook_url):
            problems[webhook_field] = [f"The {webhook_field} must be a valid URL."]
        if problems:
            raise errors.validation_failed(problems)
        rows, problems = await asyncio.to_thread(
            parse_rows, content, max_jobs=config.max_upload_jobs
        )
        if problems:
            raise errors.validation_failed(problems)
        await asyncio.to_thread(
            sim.service.accept_upload,
            account,
            filename=upload.filename or "",
            webhook_url=webhook_url,
            template_version=template_version,
            rows=rows,
        )
        sim.worker.wake()
        return JSONResponse({"data": {"message": "The file was received and is being processed."}})

    @router.get("/delivery/jobs")
    async def list_jobs(request: Request, account: str = Depends(_guard(sim, "list"))) -> Response:
        query, problems = parse_job_query(
            request.query_params,
            default_page_size=config.default_page_size,
            max_page_size=config.max_page_size,
            over_max=config.over_max_page_size,
        )
        if query is None:
            raise errors.validation_failed(problems)
        jobs, total = await asyncio.to_thread(sim.store.find_jobs, account, query)
        return JSONResponse(
            {"data": jobs, "meta": page_meta(total, query.page, query.per_page, len(jobs))}
        )

    @router.get("/delivery/jobs/{job_id}")
    async def get_job(job_id: str, account: str = Depends(_guard(sim, "get"))) -> Response:
        number = as_int(job_id)
        job = await asyncio.to_thread(sim.store.job, account, number) if number else None
        if job is None:
            raise errors.not_found("Job not found.")
        return JSONResponse({"data": job})

    return router


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


class _DroppedConnection(Response):
    """Starts a 200 that never completes: the server closes the socket mid-response."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )


async def _lost_response(faults: Faults, job: dict[str, Any] | None) -> Response:
    """The job exists; the client does not learn it (fault `lost_response_rate`)."""
    if faults.lost_response_mode == "gateway_timeout":
        return JSONResponse(errors.error_body(504, "Gateway Time-out"), status_code=504)
    if faults.lost_response_mode == "server_error":
        return JSONResponse(errors.error_body(500, "Server Error"), status_code=500)
    if faults.lost_response_mode == "sleep":
        await asyncio.sleep(faults.lost_response_sleep_s)
        return JSONResponse({"data": job})
    return _DroppedConnection()


def _inspection_router(sim: Simulator) -> APIRouter:
    router = APIRouter(prefix="/_simulator")

    @router.get("/references")
    async def references() -> dict[str, Any]:
        return await asyncio.to_thread(references_report, sim.store)

    @router.get("/uploads")
    async def uploads(rows: bool = True) -> dict[str, Any]:
        return await asyncio.to_thread(uploads_report, sim.store, include_rows=rows)

    @router.get("/faults")
    async def faults() -> dict[str, Any]:
        return {"seed": sim.config.faults.seed, "injected": dict(sim.faults.injected)}

    @router.post("/flush")
    async def flush(timeout: float = 30.0) -> JSONResponse:
        settled = await sim.worker.flush(timeout)
        body = {"settled": settled, "unsettled": sim.store.unsettled()}
        return JSONResponse(body, status_code=200 if settled else 504)

    return router
