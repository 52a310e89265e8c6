"""`upload_chain_daily`: materializes the upload chain (extract, validate, cut, send) for the
coming delivery dates at FLEET_SCHEDULE_CRON (FLEET_SCHEDULE_TIMEZONE), FLEET_SCHEDULE_DAYS_AHEAD
dates ahead. Each date is its own run; the run key carries the tick, so a missed tick caught up
later does not resend a date twice within one tick. It starts stopped unless
FLEET_AUTOMATION_DEFAULT_STATUS is `running`."""

# No `from __future__ import annotations`: Dagster reads the context annotations.

from datetime import date, timedelta

import dagster as dg

from fleet_pipeline.defs.erp.assets import erp_deliveries
from fleet_pipeline.defs.partitions import delivery_date_partitions
from fleet_pipeline.defs.uploads.assets import job_submissions, upload_batches
from fleet_pipeline.defs.validation.assets import delivery_jobs
from fleet_pipeline.reconcile.schedule import dates_to_send
from fleet_pipeline.reconcile.settings import ReconcileSettings

upload_chain_job = dg.define_asset_job(
    "upload_chain",
    selection=dg.AssetSelection.assets(erp_deliveries, delivery_jobs, upload_batches,
                                       job_submissions),
    description="Extract, validate, cut and send one delivery date.",
)


def has_partition(day: date, today: date) -> bool:
    """Whether `day` is a delivery-date partition on `today` (the day the schedule fires): the
    partitions run from FLEET_PARTITIONS_START to FLEET_DAYS_AHEAD - 1 days after today."""
    first = date.fromisoformat(delivery_date_partitions.get_first_partition_key())
    return first <= day <= today + timedelta(days=delivery_date_partitions.end_offset - 1)


def build_upload_schedule(settings: ReconcileSettings | None = None) -> dg.ScheduleDefinition:
    settings = settings or ReconcileSettings.from_env()

    @dg.schedule(
        name="upload_chain_daily",
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        job=upload_chain_job,
        default_status=(dg.DefaultScheduleStatus.RUNNING if settings.automation_running
                        else dg.DefaultScheduleStatus.STOPPED),
        description=f"Sends the next {settings.schedule_days_ahead} delivery date(s) at "
                    f"`{settings.schedule_cron}` ({settings.schedule_timezone}).",
    )
    def upload_chain_daily(context: dg.ScheduleEvaluationContext):
        fired = context.scheduled_execution_time
        requests, skipped = [], []
        for day in dates_to_send(fired.date(), settings.schedule_days_ahead):
            key = day.isoformat()
            if not has_partition(day, fired.date()):
                skipped.append(key)
                continue
            requests.append(dg.RunRequest(partition_key=key,
                                          run_key=f"{key}@{fired.isoformat()}",
                                          tags={"fleet/trigger": "schedule"}))
        if not requests:
            return dg.SkipReason(f"no partition for {', '.join(skipped)} (FLEET_DAYS_AHEAD "
                                 "must exceed FLEET_SCHEDULE_DAYS_AHEAD)")
        if skipped:
            context.log.warning(f"no partition for {', '.join(skipped)}: not sent "
                                "(FLEET_DAYS_AHEAD must exceed FLEET_SCHEDULE_DAYS_AHEAD)")
        return requests

    return upload_chain_daily


upload_chain_daily = build_upload_schedule()
