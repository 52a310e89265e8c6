"""The sample ERP's drivers as the Fleet account knows them, so the simulator can be given the
same roster: in real life every driver the ERP assigns is registered in Fleet, and a simulator
that knew other drivers would reject jobs for a reason no ERP row could fix."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from fleet_pipeline.erp.sample.schema import drivers

# Drivers without a Fleet id in the ERP still have one in Fleet; derived, so it is stable.
_NAMESPACE = uuid.UUID("5b0c2f54-51f5-4a52-9b7e-6a0f4f3c2d10")


def fleet_roster(engine: sa.Engine) -> list[dict[str, str]]:
    """Every driver of the sample ERP as `{"driver_id": uuid, "name": display name}`."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(drivers.c.employee_no, drivers.c.display_name,
                                      drivers.c.fleet_driver_uuid)
                            .order_by(drivers.c.driver_id)).all()
    return [{"driver_id": fleet_id or str(uuid.uuid5(_NAMESPACE, employee_no)), "name": name}
            for employee_no, name, fleet_id in rows]
