"""Named points where the crash test kills the sender, to prove each one is recoverable.

`FLEET_CRASH_AT=<point>[:<nth>]` makes the process SIGKILL itself the nth time (default the
first) it reaches `<point>`: no handler, no flush, no rollback, as with a lost machine. Unset (in
production) a crash point costs one dictionary lookup.

Points: `plan.after_jobs`, `probe.after_batch`, `bulk.before_intent`, `bulk.after_intent`,
`bulk.during_request`, `bulk.after_request`, `bulk.after_outcome`, `single.before_intent`,
`single.after_intent`, `single.during_request`, `single.after_request`, `single.after_outcome`.
An nth above 1 on a per-upload or per-job point kills the run mid-batch, with other uploads sent
or other creates in flight.

The `during_request` points sit in the HTTP transport (`crash_transport`): they fire once the
whole request has been written to the socket and before any of the answer is read, so the API
has the upload or the create and the sender never learns what became of it.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from typing import Any

import httpx

from fleet_pipeline.fleet_api.operations import BULK_UPLOAD_PATH, JOBS_PATH

CRASH_AT = "FLEET_CRASH_AT"
POINTS = (
    "plan.after_jobs",
    "probe.after_batch",
    "bulk.before_intent",
    "bulk.after_intent",
    "bulk.during_request",
    "bulk.after_request",
    "bulk.after_outcome",
    "single.before_intent",
    "single.after_intent",
    "single.during_request",
    "single.after_request",
    "single.after_outcome",
)

_reached: Counter[str] = Counter()


def crashpoint(name: str) -> None:
    spec = os.environ.get(CRASH_AT)
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


# The POST each `during_request` point watches.
_REQUESTS = {"bulk.during_request": BULK_UPLOAD_PATH, "single.during_request": JOBS_PATH}
# httpcore's trace event once the request is sent and the answer's first byte is awaited.
_ANSWER_AWAITED = "http11.receive_response_headers.started"


def crash_transport(connections: int, *, asynchronous: bool
                    ) -> httpx.BaseTransport | httpx.AsyncBaseTransport | None:
    """A transport that kills the process mid-request, when FLEET_CRASH_AT names a
    `during_request` point; None (the client's own transport) otherwise."""
    point = os.environ.get(CRASH_AT, "").partition(":")[0]
    if point not in _REQUESTS:
        return None
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    if asynchronous:
        return _AsyncKillMidRequest(httpx.AsyncHTTPTransport(limits=limits), point)
    return _KillMidRequest(httpx.HTTPTransport(limits=limits), point)


def _watched(request: httpx.Request, point: str) -> bool:
    return request.method == "POST" and request.url.path.endswith(_REQUESTS[point])


class _KillMidRequest(httpx.BaseTransport):
    def __init__(self, inner: httpx.HTTPTransport, point: str) -> None:
        self._inner, self._point = inner, point

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _watched(request, self._point):
            def trace(event: str, info: dict[str, Any]) -> None:
                if event == _ANSWER_AWAITED:
                    crashpoint(self._point)
            request.extensions = {**request.extensions, "trace": trace}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class _AsyncKillMidRequest(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncHTTPTransport, point: str) -> None:
        self._inner, self._point = inner, point

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _watched(request, self._point):
            async def trace(event: str, info: dict[str, Any]) -> None:
                if event == _ANSWER_AWAITED:
                    crashpoint(self._point)
            request.extensions = {**request.extensions, "trace": trace}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
