"""docs/erp-mapping.md keeps up with the canonical record and the sample ERP."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet_pipeline.erp.canonical import ITEM_COLUMN_NAMES, JOB_COLUMN_NAMES
from fleet_pipeline.erp.sample.generator import DEFECTS
from fleet_pipeline.erp.sample.schema import TABLE_NAMES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "erp-mapping.md").read_text("utf-8")


@pytest.mark.parametrize("name", sorted({*JOB_COLUMN_NAMES, *ITEM_COLUMN_NAMES, *DEFECTS,
                                         *TABLE_NAMES}))
def test_every_column_table_and_defect_is_documented(name):
    assert f"`{name}`" in DOC
