"""Split one partition into the deliveries we can send and the ones we reject, with every reason.

`split` runs the type stage (dtypes.conform) and the pandera contracts (schema.py) lazily, so an
invalid row is reported with every check it fails, not just the first. Nothing is dropped: rows are
judged by position, so two rows sharing a reference are two rejections; a row whose items fail is
rejected with them (check `items_valid`), and items whose delivery is not in the partition are
reported (`delivery_exists`). Valid rows come out as they came in: same values, same dtypes.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pandera.pandas as pa

from fleet_pipeline.erp.canonical import ITEM_COLUMNS, JOB_COLUMNS
from fleet_pipeline.masking import is_personal, mask_value
from fleet_pipeline.validation import dtypes
from fleet_pipeline.validation.schema import cross_column_checks, delivery_model, item_model
from fleet_pipeline.validation.settings import ValidationSettings

DELIVERY, ITEM = "delivery", "item"
# One row per failed check of a rejected row. `row_position` is the row's position in the input
# frame of its `record` kind (deliveries or items); `value` is the offending value, masked when
# personal and cut when long.
FAILURE_COLUMNS = ("record", "row_position", "reference_number", "column", "check", "value")
ITEMS_VALID, DELIVERY_EXISTS = "items_valid", "delivery_exists"
MAX_VALUE_CHARS = 64


class CountInvariantBroken(RuntimeError):
    """Rows went missing between extraction and the split: a bug, never a data problem."""


@dataclass(frozen=True)
class ValidationResult:
    valid_deliveries: pd.DataFrame
    valid_items: pd.DataFrame
    failures: pd.DataFrame
    # One entry per rejected delivery row: index = its position in the input, value = reference.
    rejected_references: pd.Series
    extracted: int  # delivery rows judged; always len(valid_deliveries) + len(rejected_references)

    @property
    def rejection_rate(self) -> float:
        return len(self.rejected_references) / self.extracted if self.extracted else 0.0


def split(deliveries: pd.DataFrame, items: pd.DataFrame, now: datetime,
          settings: ValidationSettings | None = None) -> ValidationResult:
    """Judge one partition's deliveries and items at time `now` (the run's clock).

    A time-zone aware `now` is converted to the account's local time; a naive one is taken as
    already local, like `scheduled_delivery_ts`.
    """
    settings = settings or ValidationSettings()
    local_now = _local_naive(now, settings.account_timezone)
    with pd.option_context("mode.copy_on_write", True):
        jobs = dtypes.conform(deliveries, JOB_COLUMNS, settings.account_timezone)
        lines = dtypes.conform(items, ITEM_COLUMNS, settings.account_timezone)
        job_failures = _failures(jobs, delivery_model(settings, local_now))
        item_failures = pd.concat([_failures(lines, item_model(settings)), _orphans(jobs, lines)],
                                  ignore_index=True)
        job_failures = pd.concat([job_failures, _items_invalid(jobs, lines, item_failures)],
                                 ignore_index=True)
        rejected_rows = np.unique(job_failures["row"].to_numpy(dtype="int64"))
        valid_rows = np.setdiff1d(np.arange(len(deliveries)), rejected_rows, assume_unique=True)
        valid_references = jobs.frame["reference_number"].iloc[valid_rows]
        kept_items = lines.frame["reference_number"].isin(valid_references).to_numpy().copy()
        kept_items[np.unique(item_failures["row"].to_numpy(dtype="int64"))] = False
        result = ValidationResult(
            valid_deliveries=deliveries.iloc[valid_rows],
            valid_items=items.iloc[np.flatnonzero(kept_items)],
            failures=_assemble(deliveries, items, lines, job_failures, item_failures),
            rejected_references=pd.Series(
                [_reference_text(v) for v in deliveries["reference_number"].to_numpy()[
                    rejected_rows]],
                index=rejected_rows, dtype=object, name="reference_number"),
            extracted=len(deliveries),
        )
        _check_counts(result, valid_references)
    # pandera caches its accessor on every frame it validates, and the accessor refers back to
    # the frame: the typed frames (and the input columns they share) would outlive this call
    # until the collector happens to run, about 0.5 GB at a million deliveries. Collect now.
    del jobs, lines
    gc.collect()
    return result


def _local_naive(now: datetime, timezone: str) -> datetime:
    if now.tzinfo is None:
        return now
    return now.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def _failures(typed: dtypes.Typed, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """(row, column, check) for every failed check; a value of the wrong type only as dtype."""
    found = [typed.failures]
    try:
        model.validate(typed.frame, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as errors:
        found.append(_from_pandera(errors.failure_cases, model, typed.frame))
    failures = pd.concat(found, ignore_index=True).drop_duplicates(ignore_index=True)
    if len(typed.failures):
        # A value of the wrong type was nulled: the rules of its column would only echo that.
        ill_typed = failures["check"].str.startswith("dtype(")
        cells = pd.MultiIndex.from_frame(failures[["row", "column"]])
        ill_cells = pd.MultiIndex.from_frame(failures.loc[ill_typed, ["row", "column"]])
        failures = failures[ill_typed | ~cells.isin(ill_cells)]
    return failures.reset_index(drop=True)


def _from_pandera(cases: pd.DataFrame, model: type[pa.DataFrameModel],
                  frame: pd.DataFrame) -> pd.DataFrame:
    cross = cross_column_checks(model)
    is_cross = cases["check"].isin(list(cross))
    unattributed = cases["index"].isna() & ~is_cross
    if unattributed.any():
        checks = sorted(set(cases.loc[unattributed, "check"].astype(str)))
        raise RuntimeError(f"validation failures without a row (a bug in a check): {checks}")
    found = [cases.loc[~is_cross, ["index", "column", "check"]].rename(columns={"index": "row"})]
    # A rule across columns answers for the whole frame; its failing rows come from the rule.
    for name in pd.unique(cases.loc[is_cross, "check"]):
        rule = cross[name]
        rows = np.flatnonzero(~rule.passes(frame).to_numpy(dtype=bool))
        found.append(pd.DataFrame({"row": rows, "column": rule.column, "check": rule.check}))
    return pd.concat(found, ignore_index=True).astype(
        {"row": "int64", "column": object, "check": object})


def _orphans(jobs: dtypes.Typed, lines: dtypes.Typed) -> pd.DataFrame:
    references = lines.frame["reference_number"]
    orphan = references.notna() & ~references.isin(jobs.frame["reference_number"].dropna())
    return pd.DataFrame({"row": np.flatnonzero(orphan.to_numpy()), "column": "reference_number",
                         "check": DELIVERY_EXISTS})


def _items_invalid(jobs: dtypes.Typed, lines: dtypes.Typed,
                   item_failures: pd.DataFrame) -> pd.DataFrame:
    bad_items = np.unique(item_failures["row"].to_numpy(dtype="int64"))
    bad_references = lines.frame["reference_number"].to_numpy()[bad_items]
    bad_references = bad_references[pd.notna(bad_references)]
    rows = np.flatnonzero(jobs.frame["reference_number"].isin(bad_references).to_numpy())
    return pd.DataFrame({"row": rows, "column": "items", "check": ITEMS_VALID})


def _assemble(deliveries: pd.DataFrame, items: pd.DataFrame, lines: dtypes.Typed,
              job_failures: pd.DataFrame, item_failures: pd.DataFrame) -> pd.DataFrame:
    """The failures frame: positions, references and values as the input frames hold them."""
    invalid_lines = _invalid_lines_per_reference(lines, item_failures)
    parts = []
    for record, source, failures in ((DELIVERY, deliveries, job_failures),
                                     (ITEM, items, item_failures)):
        if failures.empty:
            continue
        rows = failures["row"].to_numpy(dtype="int64")
        references = source["reference_number"].to_numpy()[rows]
        parts.append(pd.DataFrame({
            "record": record,
            "row_position": rows,
            "reference_number": [_reference_text(v) for v in references],
            "column": failures["column"].to_numpy(),
            "check": failures["check"].to_numpy(),
            "value": _values(source, failures, invalid_lines),
        }))
    if not parts:
        return _empty_failures()
    return (pd.concat(parts, ignore_index=True)
            .sort_values(["record", "row_position", "column", "check"], kind="stable",
                         ignore_index=True))


def _invalid_lines_per_reference(lines: dtypes.Typed, item_failures: pd.DataFrame) -> dict:
    rows = np.unique(item_failures["row"].to_numpy(dtype="int64"))
    return pd.Series(lines.frame["reference_number"].to_numpy()[rows]).value_counts().to_dict()


def _values(source: pd.DataFrame, failures: pd.DataFrame, invalid_lines: dict) -> list:
    values: list = [None] * len(failures)
    rows = failures["row"].to_numpy(dtype="int64")
    columns = failures["column"].to_numpy()
    for column in pd.unique(columns):
        at = np.flatnonzero(columns == column)
        if column == "items":
            references = source["reference_number"].to_numpy()[rows[at]]
            for i, reference in zip(at, references, strict=True):
                values[i] = f"{invalid_lines.get(reference, 0)} invalid item line(s)"
            continue
        raw = source[column].to_numpy()[rows[at]]
        personal = is_personal(column)
        for i, value in zip(at, raw, strict=True):
            values[i] = _render_value(value, personal)
    return values


def _render_value(value: object, personal: bool) -> str | None:
    """A failure's value as text: masked when personal, cut when long; None when missing."""
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float) and np.isnan(value)):
        return None
    if personal:
        masked = mask_value(value)
        return None if masked is None else str(masked)
    text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        return f"{text[:MAX_VALUE_CHARS]}…({len(text)} chars)"
    return text


def _reference_text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


def _check_counts(result: ValidationResult, valid_references: pd.Series) -> None:
    """extracted == valid + rejected, each rejection explained, each valid reference once."""
    valid, rejected = len(result.valid_deliveries), len(result.rejected_references)
    if valid + rejected != result.extracted:
        raise CountInvariantBroken(
            f"{result.extracted} deliveries extracted but {valid} valid + {rejected} rejected")
    failures = result.failures
    explained = failures.loc[failures["record"] == DELIVERY, "row_position"].unique()
    if not np.array_equal(np.sort(explained), result.rejected_references.index.to_numpy()):
        raise CountInvariantBroken(
            f"{rejected} deliveries rejected but {len(explained)} have failures")
    if valid_references.duplicated().any():
        raise CountInvariantBroken("a reference number is valid twice")


def _empty_failures() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in FAILURE_COLUMNS})
    return frame.astype({"row_position": "int64"})
