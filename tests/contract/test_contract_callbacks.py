"""Bulk-upload callbacks under each fault the simulator injects, as a receiver sees them: lost,
twice, late, overtaken, shuffled, or badly signed. The client's parse_callback and
signature.verify are what a receiver has to tell these apart."""

from __future__ import annotations

import time

from contract_support import (
    PASSWORD,
    injected,
    job,
    make_client,
    seed_with_callback_plans,
    unique,
    upload_for,
)

from fleet_pipeline.fleet_api import parse_callback, signature


def upload(simulator, receiver, size: int = 3) -> tuple[str, list[str]]:
    """One bulk upload with its own callback URL; returns the URL and the references sent."""
    references = [unique("CB") for _ in range(size)]
    url = receiver.new_url()
    with make_client(simulator) as client:
        client.bulk_upload([job(reference) for reference in references], webhook_url=url)
    return url, references


def test_dropped_callback_never_arrives(start_simulator, receiver):
    simulator = start_simulator(faults={"callback_drop_rate": 1.0})
    url, references = upload(simulator, receiver)
    assert simulator.flush(10)
    assert receiver.deliveries(url) == []
    record = upload_for(simulator, url)
    assert record["created"] == len(references)
    assert [cb["status"] for cb in record["callbacks"]] == ["dropped"]
    assert record["callbacks"][0]["attempts"] == []


def test_duplicated_callback_arrives_twice_with_the_same_body(start_simulator, receiver):
    simulator = start_simulator(faults={"callback_duplicate_rate": 1.0})
    url, references = upload(simulator, receiver)
    assert simulator.flush(10)
    first, second = receiver.wait_for(url, 2)
    assert first.body == second.body
    assert all(signature.verify(d.body, d.signature, PASSWORD) for d in (first, second))
    assert [entry.reference_number for entry in parse_callback(first.body)] == references
    callbacks = upload_for(simulator, url)["callbacks"]
    assert [cb["duplicate_of"] is not None for cb in callbacks] == [False, True]


def test_delayed_callback_arrives_after_the_delay(start_simulator, receiver):
    simulator = start_simulator(faults={"callback_delay": 0.5})
    sent = time.monotonic()
    url, references = upload(simulator, receiver)
    (delivery,) = receiver.wait_for(url, 1)
    assert delivery.at - sent >= 0.5
    assert [entry.reference_number for entry in parse_callback(delivery.body)] == references


def test_held_callback_is_overtaken_by_a_later_uploads(start_simulator, receiver):
    rates = {"callback_hold_rate": 0.5}
    seed = seed_with_callback_plans([{"hold": True}, {"hold": False}], **rates)
    simulator = start_simulator(faults={"seed": seed, "callback_hold_max_s": 30, **rates})
    held_url, held_references = upload(simulator, receiver)
    later_url, _ = upload(simulator, receiver)
    receiver.wait_for(held_url, 1)
    assert receiver.order([held_url, later_url]) == [later_url, held_url]
    (held,) = receiver.deliveries(held_url)
    assert [entry.reference_number for entry in parse_callback(held.body)] == held_references
    (callback,) = upload_for(simulator, held_url)["callbacks"]
    assert callback["held"] and callback["released"]


def test_shuffled_callback_holds_every_row_in_another_order(start_simulator, receiver):
    simulator = start_simulator(faults={"callback_shuffle_rate": 1.0})
    url, references = upload(simulator, receiver, size=8)
    assert simulator.flush(10)
    (delivery,) = receiver.wait_for(url, 1)
    received = [entry.reference_number for entry in parse_callback(delivery.body)]
    assert received != references
    assert sorted(received) == sorted(references)
    assert upload_for(simulator, url)["callbacks"][0]["shuffled"]


def test_badly_signed_callback_fails_verification(start_simulator, receiver):
    simulator = start_simulator(faults={"callback_bad_signature_rate": 1.0})
    url, references = upload(simulator, receiver)
    assert simulator.flush(10)
    (delivery,) = receiver.wait_for(url, 1)
    assert delivery.signature
    assert not signature.verify(delivery.body, delivery.signature, PASSWORD)
    # The body itself is intact; only its origin is in doubt.
    assert [entry.reference_number for entry in parse_callback(delivery.body)] == references
    assert upload_for(simulator, url)["callbacks"][0]["bad_signature"]


def callback_outcomes(simulator, receiver, uploads: int) -> tuple[list[list[bytes]], dict]:
    """Per upload, the bodies received (with a bad signature marked), and the fault counters."""
    references = [[f"SEEDED-{u}-{r}" for r in range(4)] for u in range(uploads)]
    urls = [receiver.new_url() for _ in range(uploads)]
    with make_client(simulator) as client:
        for url, batch in zip(urls, references, strict=True):
            client.bulk_upload([job(reference) for reference in batch], webhook_url=url)
    assert simulator.flush(10)
    received = [
        [
            (b"" if signature.verify(d.body, d.signature, PASSWORD) else b"BAD ") + d.body
            for d in receiver.deliveries(url)
        ]
        for url in urls
    ]
    return received, injected(simulator)


def test_same_seed_same_callbacks(start_simulator, receiver):
    faults = {
        "seed": 1,
        "callback_drop_rate": 0.3,
        "callback_duplicate_rate": 0.3,
        "callback_shuffle_rate": 0.5,
        "callback_bad_signature_rate": 0.3,
    }
    runs = [callback_outcomes(start_simulator(faults=faults), receiver, 8) for _ in range(2)]
    assert runs[0] == runs[1]
    received, counters = runs[0]
    assert {len(bodies) for bodies in received} == {0, 1, 2}
    assert any(body.startswith(b"BAD ") for bodies in received for body in bodies)
    assert set(counters) == {
        "callback_drop", "callback_duplicate", "callback_shuffle", "callback_bad_signature"
    }
