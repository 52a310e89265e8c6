"""What one send did, counted as it goes, and progress lines for whoever watches.

The sender takes a plain `log(str)` callable: `context.log.info` in Dagster, `click.echo` on the
command line. Lines name references and counts only, never a payload or a credential.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from fleet_pipeline.fleet_api import FleetApiError
from fleet_pipeline.ledger.states import format_error

Log = Callable[[str], None]

# Outcomes of a send, per job.
ACCEPTED = "accepted"  # bulk 200: the job awaits its callback row
CREATED = "created"
REJECTED = "rejected"
UNKNOWN = "unknown"
NOT_SENT = "not_sent"
SKIPPED = "skipped"  # no longer queued when its turn came (another run took it)


def quiet(_: str) -> None:
    """A log that drops every line."""


def error_reason(error: FleetApiError) -> str:
    """One line for a failed request: status, the API's message and field errors."""
    return format_error(error.status, error.message or type(error).__name__,
                        getattr(error, "field_errors", None))


@dataclass
class SendReport:
    uploads_total: int = 0
    uploads_sent: int = 0
    jobs_by_endpoint: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    # (outcome, reason) -> jobs
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    seconds: float = 0.0

    def count(self, outcome: str, jobs: int = 1, reason: str | None = None) -> None:
        self.outcomes[outcome] += jobs
        if reason is not None:
            self.failures[(outcome, reason)] += jobs

    def merge(self, other: SendReport) -> None:
        self.uploads_total += other.uploads_total
        self.uploads_sent += other.uploads_sent
        self.jobs_by_endpoint.update(other.jobs_by_endpoint)
        self.outcomes.update(other.outcomes)
        self.failures.update(other.failures)
        self.seconds += other.seconds

    @property
    def jobs_sent(self) -> int:
        return sum(self.jobs_by_endpoint.values())

    @property
    def jobs_per_minute(self) -> float:
        return 60.0 * self.jobs_sent / self.seconds if self.seconds > 0 else 0.0


class Ticker:
    """Logs `line()` at most every `every_s` seconds, and always on the last item."""

    def __init__(self, log: Log, total: int, every_s: float = 5.0) -> None:
        self._log, self._total, self._every = log, total, every_s
        self._done = 0
        self._last = time.monotonic()

    def tick(self, line: Callable[[int, int], str]) -> None:
        self._done += 1
        now = time.monotonic()
        if self._done >= self._total or now - self._last >= self._every:
            self._last = now
            self._log(line(self._done, self._total))
