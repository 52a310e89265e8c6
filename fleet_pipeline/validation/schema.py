"""The contract of a delivery job, as pandera DataFrameModels: what the Fleet API accepts and what
the business needs, one named check per rule.

The models validate the typed frame (dtypes.conform): text columns are `object` holding str or
null only, whole numbers are nullable Int64, times datetime64[us]. Stop fields are declared once
for both stops (a regex over `pickup_`/`dropoff_`); what differs between the two stops (a pickup
exists only for job type 1) is a rule across columns. Those rules are DataFrame-wide checks, each
named `<check>[<column>]` so that a failure is reported against the column a person has to fix
(`cross_column_checks` maps the name back).

Every check passes missing values unless it is about presence, so each defect is reported once,
under its own name. The names are the vocabulary of the failures' `check` column, and the
`delivery_jobs` column schema lists them per column in the Dagster catalog.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine
from pandera.typing import Series

from fleet_pipeline.erp.canonical import ITEM_COLUMNS, JOB_COLUMNS, STOP_PREFIXES
from fleet_pipeline.validation import rules
from fleet_pipeline.validation.settings import ValidationSettings

Timestamp = pandas_engine.DateTime(unit="us")  # type: ignore[call-arg]
Text = object  # str or null, proven per value by dtypes.conform (pandera's str check is per value)


def stop(field: str) -> str:
    """The column pattern of a stop field, for both stops."""
    return f"^(?:{'|'.join(STOP_PREFIXES)})_{field}$"


def _docs(columns) -> dict[str, str]:
    return {c.name: c.doc for c in columns}


_JOB_DOC = _docs(JOB_COLUMNS)
_ITEM_DOC = _docs(ITEM_COLUMNS)


def _field(doc: str, **kwargs) -> object:
    return pa.Field(description=doc, nullable=kwargs.pop("nullable", True), **kwargs)


@dataclass(frozen=True)
class CrossColumnCheck:
    """A rule over several columns, reported against `column` under the name `check`."""

    check: str
    column: str
    passes: Callable[[pd.DataFrame], pd.Series]

    @property
    def pandera_name(self) -> str:
        return f"{self.check}[{self.column}]"


def _with_cross_checks(model: type[pa.DataFrameModel], name: str,
                       checks: list[CrossColumnCheck]) -> type[pa.DataFrameModel]:
    namespace: dict[str, object] = {"__doc__": model.__doc__}
    for number, rule in enumerate(checks):
        # One verdict for the frame: given a per-row answer, pandera would copy every column of
        # every failing row to report it (minutes for a million rows when a mapping breaks).
        # The failing rows are read from `rule.passes` itself (split._from_pandera).
        def check(cls, df: pd.DataFrame, rule: CrossColumnCheck = rule) -> bool:
            return bool(rule.passes(df).all())
        namespace[f"_cross_{number}"] = pa.dataframe_check(
            check, name=rule.pandera_name, ignore_na=False)
    subclass = type(name, (model,), namespace)
    subclass._cross_column_checks = {rule.pandera_name: rule for rule in checks}  # type: ignore[attr-defined]
    return subclass


def cross_column_checks(model: type[pa.DataFrameModel]) -> dict[str, CrossColumnCheck]:
    """The model's rules across columns, by their pandera check name."""
    return model._cross_column_checks  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=16)
def delivery_model(settings: ValidationSettings, now: datetime) -> type[pa.DataFrameModel]:
    """The contract of one delivery row (canonical JOB_COLUMNS), judged at time `now`.

    `now` is the account's local time, naive, like `scheduled_delivery_ts`.
    """
    limit = settings.text_limit

    class DeliveryJob(pa.DataFrameModel):
        """One Fleet delivery job per row: a drop-off stop, and a pickup stop for job type 1."""

        reference_number: Series[Text] = _field(
            _JOB_DOC["reference_number"], nullable=False, unique=True)
        scheduled_date: Series[Timestamp] = _field(_JOB_DOC["scheduled_date"], nullable=False)
        job_type_id: Series[pd.Int64Dtype] = _field(_JOB_DOC["job_type_id"], nullable=False)
        schedule_type_id: Series[pd.Int64Dtype] = _field(
            _JOB_DOC["schedule_type_id"], nullable=False)
        scheduled_delivery_ts: Series[Timestamp] = _field(_JOB_DOC["scheduled_delivery_ts"])
        delivery_driver_name: Series[Text] = _field(_JOB_DOC["delivery_driver_name"])
        delivery_driver_id: Series[Text] = _field(_JOB_DOC["delivery_driver_id"])
        labels: Series[Text] = _field(_JOB_DOC["labels"])
        customer_name: Series[Text] = _field(
            _JOB_DOC["dropoff_customer_name"], alias=stop("customer_name"), regex=True)
        address_line_1: Series[Text] = _field(
            _JOB_DOC["dropoff_address_line_1"], alias=stop("address_line_1"), regex=True)
        address_line_2: Series[Text] = _field(
            _JOB_DOC["dropoff_address_line_2"], alias=stop("address_line_2"), regex=True)
        postal_code: Series[Text] = _field(
            _JOB_DOC["dropoff_postal_code"], alias=stop("postal_code"), regex=True)
        country_code: Series[Text] = _field(
            _JOB_DOC["dropoff_country_code"], alias=stop("country_code"), regex=True)
        latitude: Series[float] = _field(
            _JOB_DOC["dropoff_latitude"], alias=stop("latitude"), regex=True)
        longitude: Series[float] = _field(
            _JOB_DOC["dropoff_longitude"], alias=stop("longitude"), regex=True)
        contact_name: Series[Text] = _field(
            _JOB_DOC["dropoff_contact_name"], alias=stop("contact_name"), regex=True)
        contact_number: Series[Text] = _field(
            _JOB_DOC["dropoff_contact_number"], alias=stop("contact_number"), regex=True)
        email: Series[Text] = _field(_JOB_DOC["dropoff_email"], alias=stop("email"), regex=True)
        note: Series[Text] = _field(_JOB_DOC["dropoff_note"], alias=stop("note"), regex=True)
        window_from: Series[Text] = _field(
            _JOB_DOC["dropoff_window_from"], alias=stop("window_from"), regex=True)
        window_to: Series[Text] = _field(
            _JOB_DOC["dropoff_window_to"], alias=stop("window_to"), regex=True)
        duration_minutes: Series[pd.Int64Dtype] = _field(
            _JOB_DOC["dropoff_duration_minutes"], alias=stop("duration_minutes"), regex=True)

        class Config:
            strict = False  # columns beyond the canonical ones are carried, not judged
            coerce = False  # the typed frame already has every dtype

        @pa.check("reference_number", name="reference_length", ignore_na=False)
        def _reference_length(cls, s: Series) -> Series[bool]:
            return rules.length_between(s, 1, settings.max_reference_length)

        @pa.check("reference_number", name="reference_charset", ignore_na=False)
        def _reference_charset(cls, s: Series) -> Series[bool]:
            return rules.matches(s, settings.reference_pattern)

        @pa.check("job_type_id", name="job_type_known", ignore_na=False)
        def _job_type(cls, s: Series) -> Series[bool]:
            return rules.one_of(s, rules.JOB_TYPES)

        @pa.check("schedule_type_id", name="schedule_type_known", ignore_na=False)
        def _schedule_type(cls, s: Series) -> Series[bool]:
            return rules.one_of(s, rules.SCHEDULE_TYPES)

        @pa.check("delivery_driver_id", name="uuid_format", ignore_na=False)
        def _driver_id(cls, s: Series) -> Series[bool]:
            return rules.matches(s, rules.UUID_PATTERN)

        @pa.check("delivery_driver_name", name="text_length", ignore_na=False)
        def _driver_name_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("delivery_driver_name"))

        @pa.check("labels", name="text_length", ignore_na=False)
        def _labels_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("labels"))

        @pa.check(stop("customer_name"), name="text_length", ignore_na=False)
        def _customer_name_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("customer_name"))

        @pa.check(stop("address_line_1"), name="text_length", ignore_na=False)
        def _line_1_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("address_line_1"))

        @pa.check(stop("address_line_2"), name="text_length", ignore_na=False)
        def _line_2_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("address_line_2"))

        @pa.check(stop("postal_code"), name="text_length", ignore_na=False)
        def _postal_code_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("postal_code"))

        @pa.check(stop("country_code"), name="country_known", ignore_na=False)
        def _country(cls, s: Series) -> Series[bool]:
            return rules.country(s)

        @pa.check(stop("latitude"), name="latitude_range", ignore_na=False)
        def _latitude(cls, s: Series) -> Series[bool]:
            return rules.between(s, -90.0, 90.0)

        @pa.check(stop("longitude"), name="longitude_range", ignore_na=False)
        def _longitude(cls, s: Series) -> Series[bool]:
            return rules.between(s, -180.0, 180.0)

        @pa.check(stop("contact_name"), name="text_length", ignore_na=False)
        def _contact_name_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("contact_name"))

        @pa.check(stop("contact_number"), name="phone_format", ignore_na=False)
        def _phone(cls, s: Series) -> Series[bool]:
            return rules.phone(s, settings.phone_pattern)

        @pa.check(stop("email"), name="email_format", ignore_na=False)
        def _email(cls, s: Series) -> Series[bool]:
            return rules.email(s, settings.max_email_length)

        @pa.check(stop("note"), name="text_length", ignore_na=False)
        def _note_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("note"))

        @pa.check(stop("window_from"), stop("window_to"), name="time_format", ignore_na=False)
        def _window_time(cls, s: Series) -> Series[bool]:
            return rules.matches(s, rules.TIME_PATTERN)

        @pa.check(stop("duration_minutes"), name="duration_range", ignore_na=False)
        def _duration(cls, s: Series) -> Series[bool]:
            return rules.between(s, 0, rules.MAX_DURATION_MINUTES)

    return _with_cross_checks(DeliveryJob, "DeliveryJob", _job_cross_checks(settings, now))


def _job_cross_checks(settings: ValidationSettings, now: datetime) -> list[CrossColumnCheck]:
    def scheduled(df: pd.DataFrame) -> pd.Series:
        return (df["schedule_type_id"] == rules.SCHEDULED).fillna(False).astype(bool)

    checks = [
        CrossColumnCheck("required_when_scheduled", "scheduled_delivery_ts",
                         lambda df: ~scheduled(df) | df["scheduled_delivery_ts"].notna()),
        CrossColumnCheck("not_in_past", "scheduled_delivery_ts",
                         lambda df: ~scheduled(df) | ~(df["scheduled_delivery_ts"] < now)),
        CrossColumnCheck("on_scheduled_date", "scheduled_delivery_ts",
                         lambda df: ~(df["scheduled_delivery_ts"].dt.normalize()
                                      != df["scheduled_date"]) | df["scheduled_delivery_ts"].isna()
                         | df["scheduled_date"].isna()),
        CrossColumnCheck("driver_name_or_id", "delivery_driver_id",
                         lambda df: ~(rules.present(df["delivery_driver_name"])
                                      & rules.present(df["delivery_driver_id"]))),
    ]
    for prefix in STOP_PREFIXES:
        checks += _stop_cross_checks(prefix, settings.require_coordinates)
    return checks


def _stop_cross_checks(prefix: str, require_coordinates: bool) -> list[CrossColumnCheck]:
    def col(field: str) -> str:
        return f"{prefix}_{field}"

    def judged(df: pd.DataFrame) -> pd.Series:
        """Rows on which this stop must exist."""
        if prefix == "dropoff":
            return pd.Series(True, index=df.index)
        return (df["job_type_id"] == rules.PICKUP_AND_DROPOFF).fillna(False).astype(bool)

    def coordinates(df: pd.DataFrame) -> pd.Series:
        return df[col("latitude")].notna() & df[col("longitude")].notna()

    checks = [
        CrossColumnCheck("required", col(field),
                         lambda df, field=field: ~judged(df) | rules.present(df[col(field)]))
        for field in ("customer_name", "country_code")
    ]
    checks += [
        CrossColumnCheck("address_or_coordinates", col("address_line_1"),
                         lambda df: ~judged(df) | rules.present(df[col("address_line_1")])
                         | coordinates(df)),
        CrossColumnCheck("line_2_needs_line_1", col("address_line_2"),
                         lambda df: rules.needs(df[col("address_line_2")],
                                                df[col("address_line_1")])),
        CrossColumnCheck("coordinates_paired", col("latitude"),
                         lambda df: rules.needs(df[col("longitude")], df[col("latitude")])),
        CrossColumnCheck("coordinates_paired", col("longitude"),
                         lambda df: rules.needs(df[col("latitude")], df[col("longitude")])),
        CrossColumnCheck("coordinates_not_zero", col("latitude"),
                         lambda df: rules.not_null_island(df[col("latitude")],
                                                          df[col("longitude")])),
        CrossColumnCheck("coordinates_not_swapped", col("latitude"),
                         lambda df: rules.not_swapped(df[col("latitude")], df[col("longitude")],
                                                      df[col("country_code")])),
        CrossColumnCheck("window_paired", col("window_from"),
                         lambda df: rules.needs(df[col("window_to")], df[col("window_from")])),
        CrossColumnCheck("window_paired", col("window_to"),
                         lambda df: rules.needs(df[col("window_from")], df[col("window_to")])),
        CrossColumnCheck("window_order", col("window_to"),
                         lambda df: rules.window_order(df[col("window_from")],
                                                       df[col("window_to")])),
    ]
    if require_coordinates:
        checks.append(CrossColumnCheck(
            "coordinates_required", col("latitude"),
            lambda df: ~judged(df) | df[col("latitude")].notna() | df[col("longitude")].notna()))
    if prefix == "pickup":
        checks += [
            CrossColumnCheck("absent_for_single_stop", column.name,
                             lambda df, name=column.name: ~(
                                 df["job_type_id"] == rules.SINGLE_STOP).fillna(False).astype(bool)
                             | ~rules.present(df[name]))
            for column in JOB_COLUMNS if column.name.startswith("pickup_")
        ]
    return checks


@functools.lru_cache(maxsize=16)
def item_model(settings: ValidationSettings) -> type[pa.DataFrameModel]:
    """The contract of one item row (canonical ITEM_COLUMNS)."""
    limit = settings.text_limit

    class DeliveryItem(pa.DataFrameModel):
        """One order line of a delivery job."""

        reference_number: Series[Text] = _field(_ITEM_DOC["reference_number"], nullable=False)
        line_number: Series[pd.Int64Dtype] = _field(_ITEM_DOC["line_number"], nullable=False)
        description: Series[Text] = _field(_ITEM_DOC["description"], nullable=False)
        quantity: Series[float] = _field(_ITEM_DOC["quantity"], nullable=False)
        weight_kg: Series[float] = _field(_ITEM_DOC["weight_kg"])
        item_type_id: Series[pd.Int64Dtype] = _field(_ITEM_DOC["item_type_id"])
        sku: Series[Text] = _field(_ITEM_DOC["sku"])
        tracking_number: Series[Text] = _field(_ITEM_DOC["tracking_number"])
        length_cm: Series[float] = _field(_ITEM_DOC["length_cm"])
        width_cm: Series[float] = _field(_ITEM_DOC["width_cm"])
        height_cm: Series[float] = _field(_ITEM_DOC["height_cm"])

        class Config:
            strict = False
            coerce = False

        @pa.check("description", name="not_empty", ignore_na=False)
        def _description_present(cls, s: Series) -> Series[bool]:
            return s != ""

        @pa.check("description", name="text_length", ignore_na=False)
        def _description_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("description"))

        @pa.check("quantity", name="quantity_positive", ignore_na=False)
        def _quantity(cls, s: Series) -> Series[bool]:
            return rules.positive(s)

        @pa.check("weight_kg", name="weight_not_negative", ignore_na=False)
        def _weight(cls, s: Series) -> Series[bool]:
            return rules.not_negative(s)

        @pa.check("length_cm", "width_cm", "height_cm", name="dimension_not_negative",
                  ignore_na=False)
        def _dimension(cls, s: Series) -> Series[bool]:
            return rules.not_negative(s)

        @pa.check("item_type_id", name="item_type_known", ignore_na=False)
        def _item_type(cls, s: Series) -> Series[bool]:
            return rules.one_of(s, rules.ITEM_TYPES)

        @pa.check("sku", name="text_length", ignore_na=False)
        def _sku_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("sku"))

        @pa.check("tracking_number", name="text_length", ignore_na=False)
        def _tracking_length(cls, s: Series) -> Series[bool]:
            return rules.within_length(s, limit("tracking_number"))

    def line_unique(df: pd.DataFrame) -> pd.Series:
        keyed = df["reference_number"].notna() & df["line_number"].notna()
        return ~(df.duplicated(["reference_number", "line_number"], keep=False) & keyed)

    return _with_cross_checks(DeliveryItem, "DeliveryItem",
                              [CrossColumnCheck("line_unique", "line_number", line_unique)])
