"""The production instance file (deploy/dagster.yaml) works as shipped: one partition of the whole
chain runs with the multiprocess executor on a real PostgreSQL instance, the pool limits
docs/operations.md tells operators to set are stored there, and the run, its materializations and
its check evaluations land in PostgreSQL.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from chain_support import (
    DEPLOY,
    chain,
    cli,
    documented_pool_limits,
    fleet_api_simulator,
    materialize_partition,
    pipeline_env,
    seed_erp,
)
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus


@pytest.fixture
def pg_instance_env(pg_url, tmp_path, monkeypatch):
    """A DAGSTER_HOME holding deploy/dagster.yaml as is, its DAGSTER_PG_* variables pointing at
    a throw-away database (set here too, so this process can open the same instance)."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", dagster_home / "dagster.yaml")
    fleet_home = tmp_path / "fleet_home"
    fleet_home.mkdir()
    url = sa.make_url(pg_url)
    pg = {"DAGSTER_PG_HOST": url.host, "DAGSTER_PG_PORT": str(url.port or 5432),
          "DAGSTER_PG_USER": url.username, "DAGSTER_PG_PASSWORD": url.password or "",
          "DAGSTER_PG_DB": url.database}
    for name, value in pg.items():
        monkeypatch.setenv(name, value)
    return pipeline_env(fleet_home, dagster_home, **pg)


def _set_pool_limits(env, limits) -> None:
    """`dagster instance concurrency set` per pool, as the operations guide says."""
    commands = [subprocess.Popen([cli("dagster"), "instance", "concurrency", "set", pool,
                                  str(limit)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
                for pool, limit in limits.items()]
    for command in commands:
        output, _ = command.communicate(timeout=120)
        assert command.returncode == 0, output


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.postgres
def test_a_partition_of_the_chain_runs_on_the_postgres_instance(pg_instance_env, pg_url):
    env = pg_instance_env
    checks_by_asset = chain()
    keys = list(checks_by_asset)
    assert keys, "the Definitions hold no daily-partitioned asset"
    day = (date.today() + timedelta(days=1)).isoformat()  # the day a schedule would send
    seed_erp(env, day)
    limits = documented_pool_limits()
    _set_pool_limits(env, limits)

    with fleet_api_simulator(env):
        output = materialize_partition(env, day, keys)
    assert "multiprocess executor" in output

    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(sa.text("SELECT run_id, status FROM runs")).all()
            assert [status for _, status in runs] == ["SUCCESS"]
            stored = conn.execute(sa.text(
                "SELECT asset_key, partition FROM event_logs "
                "WHERE run_id = :run AND dagster_event_type = 'ASSET_MATERIALIZATION'"),
                {"run": runs[0].run_id}).all()
    finally:
        engine.dispose()
    assert sorted(stored) == sorted((AssetKey.from_user_string(key).to_string(), day)
                                    for key in keys)

    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        assert type(instance.run_storage).__module__.startswith("dagster_postgres")
        run = instance.get_run_by_id(runs[0].run_id)
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == day
        evaluations = instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
        evaluated = {record.event_log_entry.dagster_event.event_specific_data.check_name
                     for record in evaluations}
        assert evaluated == {name for names in checks_by_asset.values() for name in names}
        stored_limits = {pool: instance.event_log_storage.get_concurrency_info(pool).slot_count
                         for pool in limits}
        assert stored_limits == limits
