"""The per-upload callback address: `/callbacks/{upload_id}/{token}`.

Fleet's callback carries no envelope, so the address says which upload it answers, and the token
in it says that the caller was given that address. The token is a credential: only its SHA-256
is kept (uploads.webhook_token_hash), and it never appears in logs. The sender builds the address
with `new_token`, `hash_token` and `webhook_url`; the receiver checks it with `token_matches`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

CALLBACK_PREFIX = "/callbacks"

# Compared against when the upload is unknown, so that an unknown upload costs the same
# comparison as a wrong token.
_NO_HASH = "0" * 64


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the ledger keeps of a token. The same as ledger.repository.hash_webhook_token (a test
    holds them equal); defined here so that the receiver does not load the repository."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(stored_hash: str | None, token: str) -> bool:
    """Constant-time check of `token` against an upload's stored hash (None: no such upload, or
    an upload sent without a webhook)."""
    given = hash_token(token).encode("ascii")
    expected = (stored_hash or _NO_HASH).encode("ascii", errors="replace")
    return hmac.compare_digest(given, expected) and stored_hash is not None


def callback_path(upload_id: str, token: str) -> str:
    if not upload_id or "/" in upload_id:
        raise ValueError("an upload id for a callback address must be non-empty and have no '/'")
    return f"{CALLBACK_PREFIX}/{quote(upload_id, safe='')}/{quote(token, safe='')}"


def webhook_url(public_base_url: str, upload_id: str, token: str) -> str:
    """The address given to Fleet, e.g. https://hooks.example.com + /callbacks/U1/TOKEN."""
    return public_base_url.rstrip("/") + callback_path(upload_id, token)
