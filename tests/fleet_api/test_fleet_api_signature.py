"""`X-Webhook-Signature`: HMAC-SHA256 hex of the raw body, keyed with the API key."""

from __future__ import annotations

import hashlib
import hmac

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.fleet_api.signature import sign, sign_json_encoded_variant, verify

KEY = "s3cr3t-Api-P4ssw0rd"
DOCUMENTED_CALLBACK = (
    b'[{"reference_number":"CART202502260001","job_id":119582},'
    b'{"reference_number":"CART202502260002","errors":{"job_type_id":'
    b'["The selected job_type_id is invalid."]}}]'
)


def test_rfc_4231_vector():
    # RFC 4231, test case 2: an independent check that sign() is plain HMAC-SHA256 in hex.
    assert sign(b"what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_documented_callback_signed_and_verified():
    header = hmac.new(KEY.encode(), DOCUMENTED_CALLBACK, hashlib.sha256).hexdigest()
    assert sign(DOCUMENTED_CALLBACK, KEY) == header
    assert verify(DOCUMENTED_CALLBACK, header, KEY)


def test_uppercase_hex_and_surrounding_space_are_accepted():
    header = sign(DOCUMENTED_CALLBACK, KEY)
    assert verify(DOCUMENTED_CALLBACK, header.upper(), KEY)
    assert verify(DOCUMENTED_CALLBACK, f" {header}\n", KEY)


def test_tampered_body_wrong_key_and_missing_header_are_rejected():
    header = sign(DOCUMENTED_CALLBACK, KEY)
    tampered = DOCUMENTED_CALLBACK.replace(b"119582", b"119583")
    assert not verify(tampered, header, KEY)
    assert not verify(DOCUMENTED_CALLBACK, header, "another-key")
    assert not verify(DOCUMENTED_CALLBACK, None, KEY)
    assert not verify(DOCUMENTED_CALLBACK, "", KEY)
    assert not verify(DOCUMENTED_CALLBACK, "zz\u00e9", KEY)


def test_php_json_encoded_variant_is_accepted_only_when_enabled():
    body = '[{"reference_number":"A/1","errors":{"note":["Zoë"]}}]'.encode()
    # PHP: hash_hmac('sha256', json_encode($payload), $key) with default flags.
    php_encoded = r'"[{\"reference_number\":\"A\/1\",\"errors\":{\"note\":[\"Zo\u00eb\"]}}]"'
    expected = hmac.new(KEY.encode(), php_encoded.encode(), hashlib.sha256).hexdigest()
    assert sign_json_encoded_variant(body, KEY) == expected
    assert not verify(body, expected, KEY)
    assert verify(body, expected, KEY, accept_json_encoded_variant=True)
    assert verify(body, sign(body, KEY), KEY, accept_json_encoded_variant=True)


def test_variant_on_a_non_utf8_body_is_a_rejection_not_a_crash():
    assert not verify(b"\xff\xfe", "00", KEY, accept_json_encoded_variant=True)


def test_comparison_is_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signature.hmac, "compare_digest", spy)
    header = sign(DOCUMENTED_CALLBACK, KEY)
    assert verify(DOCUMENTED_CALLBACK, header, KEY)
    assert not verify(DOCUMENTED_CALLBACK, "0" * 64, KEY, accept_json_encoded_variant=True)
    assert len(calls) == 3
