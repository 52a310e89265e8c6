"""Named points where the crash test kills the sender, to prove each one is recoverable.

`FLEET_CRASH_AT=<point>[:<nth>]` makes the process SIGKILL itself the nth time (default the
first) it reaches `<point>`: no handler, no flush, no rollback, as with a lost machine. Unset (in
production) a crash point costs one dictionary lookup.

Points: `plan.after_jobs`, `probe.after_batch`, `bulk.before_intent`, `bulk.after_intent`,
`bulk.after_request`, `bulk.after_outcome`, `single.before_intent`, `single.after_intent`,
`single.after_request`, `single.after_outcome`. An nth above 1 on a per-upload or per-job point
kills the run mid-batch, with other uploads sent or other creates in flight.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

CRASH_AT = "FLEET_CRASH_AT"
POINTS = (
    "plan.after_jobs",
    "probe.after_batch",
    "bulk.before_intent",
    "bulk.after_intent",
    "bulk.after_request",
    "bulk.after_outcome",
    "single.before_intent",
    "single.after_intent",
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
