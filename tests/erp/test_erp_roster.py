"""The sample ERP's drivers handed to the simulator as the Fleet account's roster."""

from __future__ import annotations

from erp_seeded import seed_sample

from fleet_pipeline.erp.sample.roster import fleet_roster
from fleet_pipeline.erp.source import connect
from fleet_pipeline.simulator.cli import _roster, serve_config


def test_every_driver_of_the_erp_is_on_the_roster_with_a_stable_fleet_id(sqlite_url):
    seeded = seed_sample(sqlite_url)
    engine = connect(seeded.url)
    roster = fleet_roster(engine)
    engine.dispose()
    drivers = seeded.data.rows["drivers"]
    assert [d["name"] for d in roster] == [d["display_name"] for d in drivers]
    for entry, driver in zip(roster, drivers, strict=True):
        if driver["fleet_driver_uuid"]:
            assert entry["driver_id"] == driver["fleet_driver_uuid"]
    assert len({d["driver_id"] for d in roster}) == len(roster)
    assert _roster(seeded.url) == roster  # the same on a second read: derived ids are stable


def test_the_simulator_serves_that_roster(sqlite_url, tmp_path):
    seed_sample(sqlite_url)
    config = serve_config(db=tmp_path / "sim.sqlite", flags={"drivers": _roster(sqlite_url)})
    assert [d.name for d in config.drivers] == [d["name"] for d in _roster(sqlite_url)]
