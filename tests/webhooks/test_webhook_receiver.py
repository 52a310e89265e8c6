"""The receiver route on SQLite and PostgreSQL: what lands, what is refused, and that a refused
or failed request writes nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from webhook_support import (
    KEY,
    TestClient,
    add_upload,
    body_of,
    counts,
    created,
    events,
    rejected,
    results,
    signed_headers,
)

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.webhooks import landing
from fleet_pipeline.webhooks.app import create_app
from fleet_pipeline.webhooks.tokens import callback_path

DOCUMENTED = [
    created("CART202502260001", 119582),
    rejected("CART202502260002", job_type_id=["The selected job_type_id is invalid."]),
]


def test_the_documented_callback_lands_as_one_event_and_one_row_per_entry(client, engine,
                                                                          upload):
    body = body_of(DOCUMENTED)
    response = client.post(upload.path, content=body,
                           headers=signed_headers(body, **{"User-Agent": "Cartrack"}))
    assert response.status_code == 200
    assert response.json() == {"event_id": 1, "landed": True, "duplicate_of": None,
                               "conflicting": False, "entries": 2, "unexpected": 0}
    (event,) = events(engine)
    assert event.upload_id == upload.upload_id and bytes(event.body) == body
    assert event.signature == signature.sign(body, KEY) and event.signature_variant == "raw"
    assert (event.entry_count, event.created_count, event.rejected_count,
            event.unexpected_count) == (2, 1, 1, 0)
    assert event.content_type == "application/json" and event.remote_addr
    assert json.loads(event.headers)["user-agent"] == "Cartrack"
    assert event.duplicate_of is None and event.conflicting is False
    first, second = results(engine)
    assert (first.position, first.reference_number, first.outcome, first.fleet_job_id,
            first.errors, first.unexpected) == (0, "CART202502260001", "created", 119582, None,
                                                False)
    assert (second.position, second.outcome, second.fleet_job_id) == (1, "rejected", None)
    assert json.loads(second.errors) == {"job_type_id": ["The selected job_type_id is invalid."]}
    assert first.event_id == second.event_id == event.id


def test_the_same_body_twice_lands_once_and_answers_200_both_times(client, engine, upload):
    body = body_of(DOCUMENTED)
    first = client.post(upload.path, content=body, headers=signed_headers(body))
    again = client.post(upload.path, content=body, headers=signed_headers(body))
    assert first.status_code == again.status_code == 200
    assert again.json()["event_id"] == first.json()["event_id"] and not again.json()["landed"]
    assert counts(engine) == (1, 2)


def test_the_same_body_for_two_uploads_lands_for_each(client, engine, upload):
    with engine.begin() as conn:
        other = add_upload(conn, "U-other", [])
    body = body_of(DOCUMENTED)
    answers = [client.post(target.path, content=body, headers=signed_headers(body)).json()
               for target in (upload, other)]
    assert [(a["landed"], a["unexpected"]) for a in answers] == [(True, 0), (True, 2)]
    assert counts(engine) == (2, 4)
    assert [e.conflicting for e in events(engine)] == [False, False]


def test_a_different_body_for_the_same_upload_lands_flagged_conflicting(client, engine, upload):
    bodies = [body_of(DOCUMENTED),
              body_of([created("CART202502260001", 119582), created("CART202502260002", 7)])]
    answers = [client.post(upload.path, content=b, headers=signed_headers(b)).json()
               for b in bodies]
    assert [a["conflicting"] for a in answers] == [False, True]
    assert [e.conflicting for e in events(engine)] == [False, True]
    assert counts(engine) == (2, 4)


def test_the_same_entries_in_other_bytes_land_as_a_duplicate_of_the_first(client, engine,
                                                                         upload):
    compact = json.dumps(DOCUMENTED, separators=(",", ":")).encode()
    reordered = json.dumps(list(reversed(DOCUMENTED)), indent=2, sort_keys=True).encode()
    first = client.post(upload.path, content=compact, headers=signed_headers(compact)).json()
    second = client.post(upload.path, content=reordered, headers=signed_headers(reordered)).json()
    assert second["landed"] and second["duplicate_of"] == first["event_id"]
    assert not second["conflicting"]
    assert [e.duplicate_of for e in events(engine)] == [None, first["event_id"]]


def test_entries_of_references_outside_the_upload_are_flagged_unexpected(client, engine,
                                                                         upload):
    with engine.begin() as conn:
        add_upload(conn, "U-neighbour", ["CART-NEIGHBOUR"])
    body = body_of(DOCUMENTED + [created("CART-NEIGHBOUR", 5), created("NEVER-SENT", 6)])
    answer = client.post(upload.path, content=body, headers=signed_headers(body)).json()
    assert answer["unexpected"] == 2
    assert [r.unexpected for r in results(engine)] == [False, False, True, True]
    assert events(engine)[0].unexpected_count == 2


def test_awkward_text_lands_exactly_as_sent(client, engine, upload):
    """PostgreSQL lands a large callback's rows with COPY in CSV: quotes, commas, new lines,
    backslashes, a field that reads like COPY's NULL marker, non-ASCII and empty message lists
    come back as they went in, and NULLs stay NULL."""
    awkward = {"address_1": ['Say "no", then\nleave', "\\N", "\\", ""],
               "contact_name": ["Zoë 😀 — ünïcødé", ",,,"], "labels": []}
    # References outside the upload: landed, flagged unexpected. Enough entries for COPY.
    padding = [created(f"PAD-{n}", 100 + n) for n in range(landing._COPY_FROM_ROWS)]
    entries = [rejected('ref,with "quote"', **awkward), created("\\N", 7), *padding]
    body = body_of(entries)
    assert client.post(upload.path, content=body, headers=signed_headers(body)).status_code == 200
    first, second, *rest = results(engine)
    assert [(r.reference_number, r.fleet_job_id, r.errors) for r in rest] == [
        (e["reference_number"], e["job_id"], None) for e in padding]
    assert (first.reference_number, first.fleet_job_id, first.unexpected) == (
        'ref,with "quote"', None, True)
    assert json.loads(first.errors) == awkward
    assert (second.reference_number, second.fleet_job_id, second.errors, second.unexpected) == (
        "\\N", 7, None, True)


def test_an_empty_array_lands_as_an_event_without_rows(client, engine, upload):
    response = client.post(upload.path, content=b"[]", headers=signed_headers(b"[]"))
    assert response.status_code == 200 and counts(engine) == (1, 0)


def _refusals(upload, other_key_body: bytes):
    """(name, path, body, headers, status) of every class of refused request."""
    good = body_of(DOCUMENTED)
    unknown = callback_path("U-never-made", upload.token)
    wrong_token = callback_path(upload.upload_id, "x" * 43)
    yield "unknown upload", unknown, good, signed_headers(good), 404
    yield "wrong token", wrong_token, good, signed_headers(good), 401
    yield "over-long upload id", callback_path("U" * 500, upload.token), good, \
        signed_headers(good), 404
    yield "no signature", upload.path, good, {"Content-Type": "application/json"}, 401
    yield "wrong key", upload.path, good, signed_headers(good, key="other-key"), 401
    yield "signature of another body", upload.path, good, \
        signed_headers(other_key_body) | {"Content-Type": "application/json"}, 401
    yield "not JSON", upload.path, b"[{", signed_headers(b"[{"), 400
    for bad in (b'{"reference_number": "A", "job_id": 1}', b'["A"]',
                b'[{"reference_number": 5, "job_id": 1}]',
                b'[{"reference_number": "A"}]',
                b'[{"reference_number": "A", "job_id": 1, "errors": {"x": ["y"]}}]',
                b'[{"reference_number": "A", "job_id": "1"}]',
                b'[{"reference_number": "A", "job_id": true}]',
                b'[{"reference_number": "A", "job_id": 1.5}]',
                b'[{"reference_number": "A", "job_id": -3}]',
                b'[{"reference_number": "A", "job_id": 99999999999999999999}]',
                b'[{"reference_number": "A", "errors": ["bad"]}]',
                b'[{"reference_number": "A", "errors": {"x": "bad"}}]',
                b'[{"reference_number": "A", "errors": {"x": [1]}}]',
                b'[{"reference_number": "\\ud800", "job_id": 1}]',
                b'[{"reference_number": "A\\u0000", "job_id": 1}]',
                b'[{"reference_number": "' + b"R" * 101 + b'", "job_id": 1}]',
                b'[{"reference_number": "A", "job_id": NaN}]',
                "[{\"reference_number\": \"\u00e9\"}]".encode("latin-1")):
        yield f"bad entries {bad[:40]!r}", upload.path, bad, signed_headers(bad), 400
    yield "text/plain", upload.path, good, signed_headers(good) | {"Content-Type": "text/plain"}, \
        415
    yield "no content type", upload.path, good, {signature.SIGNATURE_HEADER:
                                                 signature.sign(good, KEY)}, 415
    yield "gzip", upload.path, good, signed_headers(good, **{"Content-Encoding": "gzip"}), 415
    big = body_of([created(f"R{i}", i + 1) for i in range(200)])
    yield "too large", upload.path, big, signed_headers(big), 413


def test_every_refused_request_writes_nothing(engine, upload):
    app = create_app(engine, KEY, max_body_bytes=4000)
    with TestClient(app, raise_server_exceptions=False) as client:
        for name, path, body, headers, status in _refusals(upload, b"[1]"):
            response = client.post(path, content=body, headers=headers)
            assert response.status_code == status, name
            assert "detail" in response.json(), name
        assert counts(engine) == (0, 0)
        # and the receiver still lands a good callback afterwards
        good = body_of(DOCUMENTED)
        assert client.post(upload.path, content=good,
                           headers=signed_headers(good)).status_code == 200


def test_an_unknown_upload_is_404_and_a_wrong_token_401(client, engine, upload):
    body = body_of(DOCUMENTED)
    unknown = client.post(callback_path("U-none", upload.token), content=body,
                          headers=signed_headers(body))
    wrong = client.post(callback_path(upload.upload_id, "nope"), content=body,
                        headers=signed_headers(body))
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "unknown upload"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "invalid callback token"})
    assert counts(engine) == (0, 0)


def test_an_upload_sent_without_a_webhook_accepts_no_callback(client, engine):
    with engine.begin() as conn:
        upload = add_upload(conn, "U-no-hook", ["R1"])
        conn.exec_driver_sql("UPDATE uploads SET webhook_token_hash = NULL")
    body = body_of([created("R1", 1)])
    assert client.post(upload.path, content=body,
                       headers=signed_headers(body)).status_code == 401


def test_the_json_encoded_signature_is_accepted_only_when_enabled(engine, upload):
    body = body_of([rejected("CART202502260001", stops=["The stops/0 field is required."])])
    variant = {"Content-Type": "application/json",
               signature.SIGNATURE_HEADER: signature.sign_json_encoded_variant(body, KEY)}
    with TestClient(create_app(engine, KEY)) as strict:
        assert strict.post(upload.path, content=body, headers=variant).status_code == 401
    assert counts(engine) == (0, 0)
    with TestClient(create_app(engine, KEY, accept_json_encoded_signature=True)) as lenient:
        assert lenient.post(upload.path, content=body, headers=variant).status_code == 200
    assert events(engine)[0].signature_variant == "json_encoded"


def test_a_failure_after_the_rows_are_inserted_commits_nothing(client, engine, upload,
                                                               monkeypatch):
    real = landing.land_callback

    def land_then_fail(conn, delivery, entries):
        real(conn, delivery, entries)
        assert conn.scalar(sa.text("SELECT count(*) FROM callback_results")) == 2
        raise sa.exc.OperationalError("INSERT ...", {}, Exception("connection lost"))

    monkeypatch.setattr("fleet_pipeline.webhooks.app.land_callback", land_then_fail)
    body = body_of(DOCUMENTED)
    response = client.post(upload.path, content=body, headers=signed_headers(body))
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "connection lost" not in response.text
    assert counts(engine) == (0, 0)
    monkeypatch.setattr("fleet_pipeline.webhooks.app.land_callback", real)
    assert client.post(upload.path, content=body, headers=signed_headers(body)).json()["landed"]


def test_an_unexpected_error_while_landing_is_no_200_and_commits_nothing(client, engine, upload,
                                                                        monkeypatch):
    real = landing.land_callback

    def land_then_break(conn, delivery, entries):
        real(conn, delivery, entries)
        raise RuntimeError("a bug")

    monkeypatch.setattr("fleet_pipeline.webhooks.app.land_callback", land_then_break)
    body = body_of(DOCUMENTED)
    response = client.post(upload.path, content=body, headers=signed_headers(body))
    assert response.status_code == 500 and "a bug" not in response.text
    assert counts(engine) == (0, 0)


def test_an_unreachable_database_answers_503():
    dead = sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")
    body = body_of(DOCUMENTED)
    with TestClient(create_app(dead, KEY)) as client:
        assert client.post(callback_path("U1", "token"), content=body,
                           headers=signed_headers(body)).status_code == 503
        assert client.get("/healthz").status_code == 503


def test_healthz_checks_the_database_and_the_tables(engine, db_url):
    with TestClient(create_app(engine, KEY)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE callback_results")
    with TestClient(create_app(engine, KEY)) as client:
        response = client.get("/healthz")
        assert response.status_code == 503 and response.json() == {"status": "unavailable"}


def test_a_signing_key_is_required():
    with pytest.raises(ValueError, match="signing key"):
        create_app(sa.create_engine("sqlite://"), "")
