"""Which endpoint a day's jobs go through: bulk uploads or one create per job.

Bulk costs one request per 1,000 jobs but answers only by callback, minutes later; single
creates answer at once, one request each. `auto` sends small days one by one and big ones in
bulk. The count is of the jobs to send now, so a handful of retries of a big day go one by one.
"""

from __future__ import annotations

from fleet_pipeline.ledger.states import BULK, SINGLE

AUTO = "auto"
POLICIES = (AUTO, BULK, SINGLE)


def choose_endpoint(policy: str, jobs_to_send: int, single_max_jobs: int) -> str:
    """`bulk` or `single` for `jobs_to_send` jobs under `policy` (auto: single below
    `single_max_jobs`)."""
    if policy == AUTO:
        return SINGLE if jobs_to_send < single_max_jobs else BULK
    if policy in (BULK, SINGLE):
        return policy
    raise ValueError(f"endpoint policy must be one of {', '.join(POLICIES)}, got {policy!r}")
