"""Read a bulk-upload callback body into entries, refusing anything that is not one.

The body is a JSON array, one entry per row of the uploaded file:
    {"reference_number": "CART202502260001", "job_id": 119582}
    {"reference_number": "CART202502260002", "errors": {"job_type_id": ["The selected ..."]}}
Keys other than these are ignored here (the raw body is kept). Reasons name positions and
fields, never values: a callback can carry personal data in its error messages.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from fleet_pipeline.ledger.tables import REFERENCE_LENGTH

# A Fleet job id is stored as a 64-bit integer.
MAX_JOB_ID = 2**63 - 1
# json.dumps with any option builds a new encoder per call; an errors object per rejected
# entry made that a tenth of a landing. Same output as json.dumps(..., sort_keys=True).
_sorted_json = json.JSONEncoder(sort_keys=True).encode
# Only a \uD800-\uDFFF escape can put a surrogate in a string decoded from UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class InvalidCallback(ValueError):
    """The body is not a callback: bad JSON, or an entry of the wrong shape (a 400)."""


class Entry(NamedTuple):
    reference_number: str
    fleet_job_id: int | None  # set when created
    errors: dict[str, list[str]] | None  # set when rejected: field -> messages

    @property
    def created(self) -> bool:
        return self.fleet_job_id is not None


def is_json_content_type(value: str | None) -> bool:
    """application/json or application/<anything>+json, any parameters (charset)."""
    if not value:
        return False
    media_type = value.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def parse_entries(body: bytes) -> list[Entry]:
    try:
        text = body.decode("utf-8")
        document = json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise InvalidCallback("the body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise InvalidCallback("the body is not valid JSON") from None
    if not isinstance(document, list):
        raise InvalidCallback("the body must be a JSON array of entries")
    entries = _entries(document)
    if _SURROGATE_ESCAPE.search(text) and not _is_unicode(entries):
        # "\ud800" alone is valid JSON but no database can store it.
        raise InvalidCallback("a string of the body is not Unicode (a lone surrogate)")
    return entries


def entries_digest(entries: Sequence[Entry]) -> str:
    """SHA-256 of the entries' content, the same for any serialisation or order of them.
    Stored with every event and compared with later ones: its definition cannot change."""
    canonical = sorted([
        (reference, job_id, "") if errors is None
        else (reference, 0, _sorted_json(errors))
        for reference, job_id, errors in entries
    ])
    return hashlib.sha256(json.dumps(canonical).encode("utf-8")).hexdigest()


def _entries(document: list[Any]) -> list[Entry]:
    """The entries of the array. A created entry with nothing odd takes the short way (a
    1,000-entry callback is mostly these); anything else goes through `_entry`, which says
    what is wrong."""
    entries = []
    append = entries.append
    for position, item in enumerate(document):
        if type(item) is dict:
            reference, job_id = item.get("reference_number"), item.get("job_id")
            if (type(job_id) is int and 0 < job_id <= MAX_JOB_ID
                    and type(reference) is str and 0 < len(reference) <= REFERENCE_LENGTH
                    and reference.isprintable() and item.get("errors") is None):
                append(Entry(reference, job_id, None))
                continue
        append(_entry(position, item))
    return entries


def _entry(position: int, item: Any) -> Entry:
    where = f"entry {position}"
    if not isinstance(item, dict):
        raise InvalidCallback(f"{where} is not an object")
    reference = item.get("reference_number")
    if not _is_reference(reference):
        raise InvalidCallback(
            f"{where}: reference_number must be a string of 1 to {REFERENCE_LENGTH} printable "
            f"characters"
        )
    job_id, errors = item.get("job_id"), item.get("errors")
    if (job_id is None) == (errors is None):
        raise InvalidCallback(f"{where}: exactly one of job_id and errors is expected")
    if job_id is not None:
        if isinstance(job_id, bool) or not isinstance(job_id, int) or not 0 < job_id <= MAX_JOB_ID:
            raise InvalidCallback(f"{where}: job_id must be a positive whole number")
        return Entry(reference, job_id, None)
    if not _is_field_errors(errors):
        raise InvalidCallback(f"{where}: errors must map field names to lists of messages")
    return Entry(reference, None, errors)


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= REFERENCE_LENGTH and value.isprintable()


def _is_field_errors(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in value.values()
    )


def _is_unicode(entries: list[Entry]) -> bool:
    try:
        json.dumps(entries, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
