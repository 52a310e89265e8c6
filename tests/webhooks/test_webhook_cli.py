"""`fleet-pipeline webhooks serve`: a real process (with two workers) on SQLite."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner
from webhook_support import (
    KEY,
    add_upload,
    body_of,
    counts,
    created,
    free_port,
    signed_headers,
    start_receiver,
)

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.webhooks.cli import webhooks


@pytest.mark.slow
def test_serve_migrates_lands_callbacks_and_prints_no_secret(sqlite_url, tmp_path):
    port = free_port()
    receiver = start_receiver(sqlite_url, port, tmp_path / "serve.log", "--workers", "2")
    engine = make_engine(sqlite_url)
    try:
        assert migrate.current(engine) == migrate.head()
        with engine.begin() as conn:
            upload = add_upload(conn, "U1", ["R1"])
        body = body_of([created("R1", 42)])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            answers = [client.post(upload.path, content=body, headers=signed_headers(body))
                       for _ in range(4)]
            refused = client.post(upload.path, content=body, headers=signed_headers(body, "x"))
        assert [a.status_code for a in answers] == [200] * 4
        assert refused.status_code == 401
        assert counts(engine) == (1, 1)
    finally:
        output = receiver.stop()
        engine.dispose()
    assert f"http://127.0.0.1:{port}/callbacks/{{upload_id}}/{{token}}" in output
    assert "landed event 1" in output and "'U1'" in output
    assert KEY not in output and upload.token not in output


def test_serve_refuses_to_start_without_a_signing_key(monkeypatch, sqlite_url):
    monkeypatch.delenv("FLEET_WEBHOOK_SIGNING_KEY", raising=False)
    monkeypatch.delenv("FLEET_API_PASSWORD", raising=False)
    result = CliRunner().invoke(webhooks, ["serve", "--db-url", sqlite_url])
    assert result.exit_code == 2 and "FLEET_WEBHOOK_SIGNING_KEY" in result.output


def test_serve_reports_an_unreachable_database_without_its_password(monkeypatch):
    monkeypatch.setenv("FLEET_WEBHOOK_SIGNING_KEY", KEY)
    url = "postgresql://fleet:hunter2@127.0.0.1:1/pipeline"
    result = CliRunner().invoke(webhooks, ["serve", "--db-url", url])
    assert result.exit_code == 1 and "127.0.0.1" in result.output
    assert "hunter2" not in result.output
