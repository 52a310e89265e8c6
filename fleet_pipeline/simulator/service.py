"""What the simulated account does with a job or an upload: validate, create, schedule the callback.

Shared by the single-create endpoint and the bulk worker, so both apply the very same rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fleet_pipeline.simulator.bulk import UploadRow, callback_body, callback_entry
from fleet_pipeline.simulator.config import SimulatorConfig
from fleet_pipeline.simulator.faults import FaultInjector
from fleet_pipeline.simulator.jobs import build_job
from fleet_pipeline.simulator.rules import Errors, reference_taken_errors, validate_job
from fleet_pipeline.simulator.store import DROPPED, PENDING, SimulatorStore

Clock = Callable[[], datetime]

# A duplicated callback follows its original by this much, so it normally arrives second.
_DUPLICATE_GAP_S = 0.05


def utc_now() -> datetime:
    return datetime.now(UTC)


class FleetService:
    def __init__(
        self,
        config: SimulatorConfig,
        store: SimulatorStore,
        faults: FaultInjector,
        clock: Clock = utc_now,
    ) -> None:
        self.config = config
        self.store = store
        self.faults = faults
        self.clock = clock
        self._zone = ZoneInfo(config.account_timezone)

    def local_now(self) -> datetime:
        """The account's wall-clock time, naive, as the API reads timestamps without offset."""
        return self.clock().astimezone(self._zone).replace(tzinfo=None, microsecond=0)

    def validate(self, payload: Mapping[str, Any], now: datetime | None = None) -> Errors:
        return validate_job(
            payload, now or self.local_now(), self.config.drivers, self.config.rules
        )

    def create_job(
        self, account: str, payload: Mapping[str, Any], upload_id: int | None = None
    ) -> tuple[dict[str, Any] | None, Errors]:
        now = self.local_now()
        errors = self.validate(payload, now)
        if errors:
            return None, errors
        with self.store.transaction():
            reference = payload.get("reference_number")
            if (
                self.config.duplicate_reference == "reject"
                and isinstance(reference, str)
                and reference
                and self.store.reference_taken(account, reference)
            ):
                return None, reference_taken_errors()
            job = build_job(
                payload,
                job_id=self.store.next_job_id(self.config.first_job_id),
                now=now,
                drivers=self.config.drivers,
                settings=self.config.rules,
            )
            self.store.add_job(account, job, upload_id)
        return job, {}

    def accept_upload(
        self,
        account: str,
        *,
        filename: str,
        webhook_url: str | None,
        template_version: str | None,
        rows: list[UploadRow],
    ) -> int:
        received_at = time.time()
        delay = self.faults.bulk_delay(self.config.bulk_processing_delay)
        return self.store.add_upload(
            account=account,
            filename=filename,
            webhook_url=webhook_url,
            template_version=template_version,
            received_at=received_at,
            process_after=received_at + delay,
            rows=rows,
        )

    def process_upload(self, upload_id: int, account: str, webhook_url: str | None) -> None:
        """Create the valid rows' jobs and schedule the callback, all in one transaction, so an
        interrupted run leaves the upload unprocessed and it is processed again from scratch."""
        with self.store.transaction():
            entries = [
                self._process_row(upload_id, account, row)
                for row in self.store.upload_rows(upload_id)
            ]
            if webhook_url:
                self._schedule_callback(upload_id, account, webhook_url, entries)
            self.store.mark_processed(upload_id, time.time())

    def _process_row(self, upload_id: int, account: str, row: UploadRow) -> dict:
        if row.parse_errors:
            # The rules see a missing cell where the JSON was bad; the parse error is the truth.
            rule_errors = self.validate(row.payload)
            job, errors = None, {**_without(rule_errors, row.parse_errors), **row.parse_errors}
        else:
            job, errors = self.create_job(account, row.payload, upload_id)
        job_id = job["job_id"] if job else None
        self.store.record_row_outcome(upload_id, row.row_number, job_id, errors)
        return callback_entry(row.reference_number, job_id, errors)

    def _schedule_callback(
        self, upload_id: int, account: str, url: str, entries: list[dict]
    ) -> None:
        plan = self.faults.callback_plan()
        if plan.shuffle:
            entries = self.faults.shuffled(entries)
        body = callback_body(entries)
        now = time.time()
        first_attempt = now + plan.delay_s
        callback_id = self.store.add_callback(
            upload_id=upload_id,
            account=account,
            url=url,
            body=body,
            status=DROPPED if plan.drop else PENDING,
            created_at=now,
            next_attempt_at=first_attempt,
            held=plan.hold,
            shuffled=plan.shuffle,
            bad_signature=plan.bad_signature,
        )
        if plan.duplicate and not plan.drop:
            self.store.add_callback(
                upload_id=upload_id,
                account=account,
                url=url,
                body=body,
                status=PENDING,
                created_at=now,
                next_attempt_at=first_attempt + _DUPLICATE_GAP_S,
                bad_signature=plan.bad_signature,
                duplicate_of=callback_id,
            )


def _without(errors: Errors, masked: Errors) -> Errors:
    return {field: messages for field, messages in errors.items() if field not in masked}
