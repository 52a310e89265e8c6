"""The rejection-rate check of `delivery_jobs`: is the share of rejected deliveries acceptable?

Declared with the asset (`check_specs`) so that it is evaluated in the same step, from the same
counts, in every run, including single-run backfills over many days. Dagster records a check
result per partition only for single-day runs; a multi-day run records one result for the run,
which fails if any day is over the limit and lists every day in its metadata.

Non-blocking on purpose: the rejected rows are already held back, the valid ones may be sent.
The threshold (FLEET_MAX_REJECTION_RATE) and severity (FLEET_REJECTION_CHECK_SEVERITY) are
settings.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from fleet_pipeline.defs.partitions import delivery_date_partitions
from fleet_pipeline.defs.validation.metadata import failure_sample, failures_by_check
from fleet_pipeline.validation.partition import ASSET, PartitionOutcome
from fleet_pipeline.validation.settings import ValidationSettings

REJECTION_RATE_CHECK = "rejection_rate_within_limit"

REJECTION_RATE_SPEC = dg.AssetCheckSpec(
    REJECTION_RATE_CHECK,
    asset=ASSET,
    partitions_def=delivery_date_partitions,
    description="At most FLEET_MAX_REJECTION_RATE (default 5%) of a day's deliveries fail "
                "validation. Above it the ERP data or its mapping likely broke.",
)


def rejection_rate_result(outcomes: Sequence[PartitionOutcome],
                          settings: ValidationSettings) -> dg.AssetCheckResult:
    limit = settings.max_rejection_rate
    worst = max(outcomes, key=lambda o: o.result.rejection_rate)
    over = [o for o in outcomes if o.result.rejection_rate > limit]
    rate = worst.result.rejection_rate
    return dg.AssetCheckResult(
        check_name=REJECTION_RATE_CHECK,
        passed=not over,
        severity=dg.AssetCheckSeverity[settings.rejection_check_severity],
        description=(f"{len(over)} of {len(outcomes)} day(s) over {limit:.1%}" if over
                     else f"every day within {limit:.1%}"),
        metadata={
            "rejection_rate": float(round(rate, 6)),
            "max_rejection_rate": float(limit),
            "worst_day": worst.day.isoformat(),
            "summary": dg.MetadataValue.md(_summary(outcomes, limit)),
            "failures_by_check": dg.MetadataValue.md(failures_by_check(worst.result.failures)),
            "failure_sample": dg.MetadataValue.md(failure_sample(worst.result.failures)),
        },
    )


def _summary(outcomes: Sequence[PartitionOutcome], limit: float) -> str:
    lines = ["| date | extracted | valid | rejected | rate | within limit |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for o in outcomes:
        rate = o.result.rejection_rate
        lines.append(f"| {o.day.isoformat()} | {o.extracted} | {o.valid} | {o.rejected} "
                     f"| {rate:.2%} | {'yes' if rate <= limit else '**no**'} |")
    return "\n".join(lines)
