"""`X-Webhook-Signature`: lowercase hex HMAC-SHA256 of the raw callback body.

The key is the account's API key (most likely the API password; docs/configuration.md). Cartrack's
PHP sample hashes a JSON-string-encoded copy of the body instead of the raw bytes, contradicting
its own prose; that reading is accepted only when `accept_json_encoded_variant` is set.
"""

from __future__ import annotations

import hashlib
import hmac
import json

SIGNATURE_HEADER = "X-Webhook-Signature"


def sign(body: bytes, key: str) -> str:
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def sign_json_encoded_variant(body: bytes, key: str) -> str:
    """The PHP sample's reading: HMAC over `json_encode($rawBody)`, the body as a JSON string.

    PHP's default flags escape `/` as `\\/` and every non-ASCII character as `\\uXXXX`
    (surrogate pairs beyond the BMP), which is Python's `ensure_ascii` plus the slash. Raises
    UnicodeDecodeError for a body that is not UTF-8 (PHP's json_encode fails on it too).
    """
    encoded = json.dumps(body.decode("utf-8"), ensure_ascii=True).replace("/", "\\/")
    return sign(encoded.encode("ascii"), key)


def verify(
    body: bytes,
    signature: str | None,
    key: str,
    *,
    accept_json_encoded_variant: bool = False,
) -> bool:
    """True when `signature` matches `body`; hex case does not matter; constant-time compare."""
    if not signature:
        return False
    given = signature.strip().lower().encode("ascii", errors="replace")
    if hmac.compare_digest(given, sign(body, key).encode("ascii")):
        return True
    if accept_json_encoded_variant:
        try:
            variant = sign_json_encoded_variant(body, key)
        except UnicodeError:
            return False
        return hmac.compare_digest(given, variant.encode("ascii"))
    return False
