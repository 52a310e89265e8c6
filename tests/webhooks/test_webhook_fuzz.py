"""Random requests at the route: never a 5xx, and nothing lands without the right address and a
valid signature over the body."""

from __future__ import annotations

import hashlib
import json
import string
from urllib.parse import quote

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from webhook_support import KEY, counts

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.ledger.callback_tables import callback_events

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
field_errors = st.dictionaries(st.text(max_size=10), st.lists(st.text(max_size=20), max_size=3),
                               max_size=3)
references = st.one_of(st.sampled_from(["CART202502260001", "CART202502260002"]),
                       st.text(min_size=1, max_size=100))
good_entries = st.one_of(
    st.fixed_dictionaries({"reference_number": references,
                           "job_id": st.integers(1, 2**63 - 1)}),
    st.fixed_dictionaries({"reference_number": references, "errors": field_errors}),
)
entries = st.fixed_dictionaries(
    {"reference_number": st.one_of(references, st.text(max_size=120), json_values)},
    optional={"job_id": st.one_of(st.integers(), json_values),
              "errors": st.one_of(field_errors, json_values)},
)


def _encode(document: object) -> bytes:
    # surrogatepass: a lone surrogate from the text strategy becomes bytes that are not UTF-8
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(_encode),
    st.lists(entries, max_size=6).map(_encode),
    st.lists(good_entries, max_size=6).map(lambda e: json.dumps(e).encode()),
)
header_text = st.text(alphabet=string.printable.strip() + " ", max_size=40)
content_types = st.one_of(
    st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                     "application/problem+json", None]),
    header_text,
)
signatures = st.one_of(st.sampled_from(["valid", "upper", "missing", "wrong key", "variant"]),
                       header_text)
addresses = st.sampled_from(["right", "wrong token", "unknown upload", "random"])
segments = st.text(min_size=1, max_size=80).map(lambda s: quote(s, safe=""))


def _signature(kind: str, body: bytes) -> str | None:
    if kind == "valid":
        return signature.sign(body, KEY)
    if kind == "upper":
        return signature.sign(body, KEY).upper()
    if kind == "wrong key":
        return signature.sign(body, "not-the-key")
    if kind == "variant":
        try:
            return signature.sign_json_encoded_variant(body, KEY)
        except UnicodeDecodeError:
            return None
    return None if kind == "missing" else kind


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies, content_type=content_types, signature_kind=signatures, address=addresses,
       random_upload=segments, random_token=segments)
def test_random_requests_never_fail_the_server_nor_land_unsigned(
    client, engine, upload, body, content_type, signature_kind, address, random_upload,
    random_token,
):
    path = {
        "right": upload.path,
        "wrong token": f"/callbacks/{quote(upload.upload_id)}/{random_token}",
        "unknown upload": f"/callbacks/{random_upload}/{quote(upload.token)}",
        "random": f"/callbacks/{random_upload}/{random_token}",
    }[address]
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    given_signature = _signature(signature_kind, body)
    if given_signature is not None:
        headers[signature.SIGNATURE_HEADER] = given_signature
    before = counts(engine)

    response = client.post(path, content=body, headers=headers)

    assert response.status_code in (200, 400, 401, 404, 413, 415), response.text
    event(f"answered {response.status_code}")
    signed = signature.verify(body, given_signature, KEY)
    if response.status_code != 200:
        assert counts(engine) == before
        return
    assert address == "right" and signed
    with engine.connect() as conn:
        stored = conn.scalar(sa.select(callback_events.c.body).where(
            callback_events.c.upload_id == upload.upload_id,
            callback_events.c.body_sha256 == hashlib.sha256(body).hexdigest()))
    assert bytes(stored) == body


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=st.lists(good_entries, max_size=6) | st.lists(good_entries | entries, max_size=6),
       ascii_only=st.booleans())
def test_random_signed_entries_land_whole_or_not_at_all(client, engine, upload, document,
                                                        ascii_only):
    body = json.dumps(document).encode() if ascii_only else _encode(document)
    headers = {"Content-Type": "application/json",
               signature.SIGNATURE_HEADER: signature.sign(body, KEY)}
    before = counts(engine)

    response = client.post(upload.path, content=body, headers=headers)

    assert response.status_code in (200, 400), response.text
    event(f"answered {response.status_code}")
    events_before, results_before = before
    if response.status_code == 400:
        assert counts(engine) == before
    elif response.json()["landed"]:
        assert counts(engine) == (events_before + 1, results_before + len(document))
    else:
        assert counts(engine) == before
