"""The per-upload callback address, as the sender builds it and the receiver checks it."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from webhook_support import add_upload

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.repository import hash_webhook_token, verify_webhook_token
from fleet_pipeline.webhooks import tokens


def test_tokens_are_long_url_safe_and_fresh():
    made = {tokens.new_token() for _ in range(100)}
    assert len(made) == 100
    assert all(len(t) >= 43 and t.replace("-", "").replace("_", "").isalnum() for t in made)


def test_only_the_hash_is_kept_and_the_ledger_accepts_it(sqlite_url):
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        upload = add_upload(conn, "U1", ["R1"])
        stored = conn.scalar(sa.text("SELECT webhook_token_hash FROM uploads"))
        assert stored == hashlib.sha256(upload.token.encode()).hexdigest()
        assert stored == tokens.hash_token(upload.token) == hash_webhook_token(upload.token)
        assert upload.token not in stored
        assert verify_webhook_token(conn, "U1", upload.token)
    engine.dispose()


def test_token_matches_only_the_stored_hash():
    token = tokens.new_token()
    assert tokens.token_matches(tokens.hash_token(token), token)
    assert not tokens.token_matches(tokens.hash_token(token), token + "x")
    assert not tokens.token_matches(None, token)
    assert not tokens.token_matches(None, "")


def test_the_address_names_the_upload_and_the_token():
    assert tokens.callback_path("U-2026-03-02-001", "abc_-9") == \
        "/callbacks/U-2026-03-02-001/abc_-9"
    assert tokens.callback_path("U 1?", "t") == "/callbacks/U%201%3F/t"
    assert tokens.webhook_url("https://hooks.example.com/fleet/", "U1", "t") == \
        "https://hooks.example.com/fleet/callbacks/U1/t"


@pytest.mark.parametrize("upload_id", ["", "a/b"])
def test_an_upload_id_that_cannot_be_one_path_segment_is_refused(upload_id):
    with pytest.raises(ValueError):
        tokens.callback_path(upload_id, "t")
