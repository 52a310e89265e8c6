"""`reconciliation_sensor`: follows the callback landing table and asks for a day's
reconciliation when the day is ready (reconcile/triggers.py decides; this only wires it). It
starts stopped unless FLEET_AUTOMATION_DEFAULT_STATUS is `running`."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

from datetime import UTC, datetime

import dagster as dg

from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.partitions import delivery_date_partitions
from fleet_pipeline.defs.reconcile.assets import callback_landing, reconciliation
from fleet_pipeline.reconcile.settings import ReconcileSettings
from fleet_pipeline.reconcile.triggers import Cursor, evaluate
from fleet_pipeline.uploads.settings import SendSettings

SENSOR_DESCRIPTION = """\
Follows new rows of the callback landing table (a cursor on the event id, at most
FLEET_SENSOR_MAX_EVENTS per tick) and uploads whose callback deadline passed. Requests the
`reconciliation` of a delivery date once every bulk upload of that date has been called back or
is past its deadline, and again when late callbacks land, for dates of any age (backfills
included). Repeated callbacks do not trigger a new run.
"""


def build_reconciliation_sensor(settings: ReconcileSettings | None = None) -> dg.SensorDefinition:
    settings = settings or ReconcileSettings.from_env()
    status = (dg.DefaultSensorStatus.RUNNING if settings.automation_running
              else dg.DefaultSensorStatus.STOPPED)

    @dg.sensor(
        name="reconciliation_sensor",
        asset_selection=[reconciliation],
        minimum_interval_seconds=60,
        default_status=status,
        description=SENSOR_DESCRIPTION,
    )
    def reconciliation_sensor(context: dg.SensorEvaluationContext,
                              ledger: LedgerResource) -> dg.SensorResult:
        return evaluate_reconciliation_tick(context, ledger)

    return reconciliation_sensor


def evaluate_reconciliation_tick(context: dg.SensorEvaluationContext,
                                 ledger: LedgerResource) -> dg.SensorResult:
    cursor = Cursor.from_json(context.cursor)
    now = datetime.now(UTC)
    with ledger.engine.connect() as conn:
        tick = evaluate(conn, cursor, now,
                        callback_deadline=SendSettings.from_env().callback_deadline,
                        max_events=ReconcileSettings.from_env().sensor_max_events)
    requests, skipped = [], []
    for request in tick.requests:
        key = request.day.isoformat()
        if delivery_date_partitions.has_partition_key(key):
            requests.append(dg.RunRequest(partition_key=key, run_key=request.run_key,
                                          tags={"fleet/trigger": "callbacks"}))
        else:
            skipped.append(key)
    if skipped:
        context.log.warning(f"dates outside the partitions, not requested: {', '.join(skipped)}")
    observations = [
        dg.AssetObservation(asset_key=callback_landing.key, partition=day.isoformat(),
                            metadata={"new_callbacks": count})
        for day, count in sorted(tick.new_events_by_day.items())
        if delivery_date_partitions.has_partition_key(day.isoformat())
    ]
    if not requests:
        reason = (f"{tick.events_read} new callback events; waiting for "
                  f"{', '.join(tick.waiting) or 'nothing'}")
        return dg.SensorResult(skip_reason=reason, cursor=tick.cursor.to_json(),
                               asset_events=observations)
    return dg.SensorResult(run_requests=requests, cursor=tick.cursor.to_json(),
                           asset_events=observations)


reconciliation_sensor = build_reconciliation_sensor()
