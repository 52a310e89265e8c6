"""Request and response shapes of the Fleet API delivery endpoints.

Every model lets unknown fields through both ways: the documented schema is incomplete (the stop
schema is not even rendered), so a field this module does not know is sent and kept, not lost.
Types are lax where the API's own types are unsure (an `order_id` may come back as a number).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

FLEET_TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def format_fleet_ts(value: Any) -> Any:
    """Datetimes become the API's `YYYY-MM-DD HH:MM:SS`; anything else is the API's to judge."""
    if isinstance(value, datetime):
        return value.strftime(FLEET_TS_FORMAT)
    return value


FleetTimestamp = Annotated[str, BeforeValidator(format_fleet_ts)]


def json_default(value: Any) -> Any:
    """JSON encoding of the values an ERP row brings along (timestamps, dates, decimals)."""
    if isinstance(value, datetime):
        return format_fleet_ts(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True, by_alias=True)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class FleetModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    # Field names whose values are personal data: shown as <hidden> in repr and str, so that
    # logging a model never writes a name, a phone or an address. Unknown (extra) fields may hold
    # anything, so only their names are shown.
    _personal: ClassVar[frozenset[str]] = frozenset()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if value is None or name not in type(self).model_fields:
                continue
            yield name, "<hidden>" if name in self._personal else value
        if self.model_extra:
            yield "extra_fields", sorted(self.model_extra)


class DeliveryWindow(FleetModel):
    time_from: str | None = None
    time_to: str | None = None


class Todo(FleetModel):
    todo_type_id: int
    is_required: bool | None = None


class Stop(FleetModel):
    _personal = frozenset({
        "customer_name", "address_line_1", "address_line_2", "postal_code", "latitude",
        "longitude", "contact_code", "contact_number", "email", "note",
    })

    stop_type_id: int | None = None
    customer_id: int | None = None
    customer_name: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    postal_code: str | None = None
    country_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    contact_code: str | None = None
    contact_number: str | None = None
    email: str | None = None
    note: str | None = None
    duration: int | None = None
    delivery_windows: list[DeliveryWindow] | None = None
    todos: list[Todo] | None = None


class Item(FleetModel):
    description: str | None = None
    quantity: int | float | None = None
    weight: int | float | None = None
    weight_measure_id: int | None = None
    item_type_id: int | None = None
    tracking_number: str | None = None
    sku: str | None = None
    length: int | float | None = None
    width: int | float | None = None
    height: int | float | None = None


class JobPayload(FleetModel):
    """The body of `POST /delivery/jobs`, and one row of a bulk-upload file."""

    _personal = frozenset({"delivery_driver_name"})

    job_type_id: int
    stops: list[Stop]
    reference_number: str | None = None
    items: list[Item] | None = None
    delivery_driver_id: str | None = None
    delivery_driver_name: str | None = None
    schedule_type_id: int | None = None
    scheduled_delivery_ts: FleetTimestamp | None = None
    plan_id: int | None = None
    subuser_id: int | None = None
    labels: list[str] | None = None
    special_equipment: list[int] | None = None
    allowed_to_start_at: FleetTimestamp | None = None
    send_to_driver_at: FleetTimestamp | None = None

    def to_request(self) -> dict[str, Any]:
        """The JSON body: fields left unset are omitted, not sent as null."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class Job(FleetModel):
    """A job as the API returns it; everything beyond these fields is kept as extra."""

    job_id: int
    order_id: str | None = None
    reference_number: str | None = None
    job_status_id: int | None = None
    job_type_id: int | None = None
    schedule_type_id: int | None = None
    scheduled_delivery_ts: str | None = None
    delivery_driver_id: str | None = None


class PageMeta(FleetModel):
    from_: int | None = Field(default=None, alias="from")
    to: int | None = None
    current_page: int = 1
    per_page: int | None = None
    last_page: int = 1
    total: int | None = None


class JobPage(FleetModel):
    data: list[Job]
    meta: PageMeta | None = None


class BulkUploadAccepted(BaseModel):
    """A bulk upload the API took (200). What happened to each job arrives by callback.

    `data` is the response's `data` as sent: its contents are not documented (no upload id).
    """

    data: Any = None
    jobs: int
    size_bytes: int


class CallbackEntry(FleetModel):
    """One row of a bulk-upload callback: created (`job_id`) or not (`errors`)."""

    reference_number: str
    job_id: int | None = None
    errors: dict[str, list[str]] | None = None

    @field_validator("errors", mode="before")
    @classmethod
    def _messages_as_lists(cls, value: Any) -> Any:
        return _field_errors(value) if isinstance(value, dict) else value

    @property
    def created(self) -> bool:
        return self.job_id is not None


class CallbackParseError(ValueError):
    """The callback body is not the documented JSON array of entries."""


def parse_callback(body: bytes | str) -> list[CallbackEntry]:
    """Parse the raw body of a bulk-upload callback (verify its signature first)."""
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CallbackParseError(f"callback body is not JSON: {exc.__class__.__name__}") from None
    if not isinstance(decoded, list):
        raise CallbackParseError(f"callback body is a JSON {type(decoded).__name__}, not an array")
    entries = []
    for position, raw in enumerate(decoded):
        try:
            entry = CallbackEntry.model_validate(raw)
        except ValidationError as exc:
            where = "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in exc.errors())
            raise CallbackParseError(f"callback entry {position} is invalid: {where}") from None
        if entry.job_id is None and entry.errors is None:
            raise CallbackParseError(f"callback entry {position} has neither job_id nor errors")
        entries.append(entry)
    return entries


class ApiErrorBody(BaseModel):
    """The useful part of an error answer, whatever shape it came in."""

    code: int | None = None
    message: str | None = None
    field_errors: dict[str, list[str]] = Field(default_factory=dict)


_MAX_MESSAGE_CHARS = 300


def parse_error_body(content: bytes) -> ApiErrorBody:
    """Laravel's `{"data": null, "error": {"code", "message", "data": {field: [msg]}}}`.

    Also tolerates `{"message", "errors"}`, an `error` that is a plain string, and bodies that are
    not JSON at all (a proxy's HTML page): then the message is the start of the text.
    """
    try:
        decoded = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        text = " ".join(content.decode("utf-8", errors="replace").split())
        return ApiErrorBody(message=text[:_MAX_MESSAGE_CHARS] or None)
    if not isinstance(decoded, dict):
        return ApiErrorBody(message=_short(decoded))
    error = decoded.get("error")
    if isinstance(error, dict):
        return ApiErrorBody(
            code=_int_or_none(error.get("code")),
            message=_short(error.get("message")),
            field_errors=_field_errors(error.get("data")) or _field_errors(error.get("errors")),
        )
    return ApiErrorBody(
        message=_short(error) if error is not None else _short(decoded.get("message")),
        field_errors=_field_errors(decoded.get("errors")),
    )


def _short(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:_MAX_MESSAGE_CHARS]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _field_errors(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {}
    return {
        str(key): [str(m) for m in msgs] if isinstance(msgs, list) else [str(msgs)]
        for key, msgs in value.items()
    }
