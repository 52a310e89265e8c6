"""Source queries: loading, the window contract, the column check and safe connection errors."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from fleet_pipeline.erp.canonical import ITEM_COLUMNS, JOB_COLUMNS, required_names
from fleet_pipeline.erp.source import (
    ErpConnectionError,
    ErpQueryError,
    ErpSourceError,
    MissingColumnsError,
    check_source,
    connect,
    load_source,
    match_columns,
    window,
)

REQUIRED_JOB = required_names(JOB_COLUMNS)


def _write(tmp_path, name, sql):
    path = tmp_path / name
    path.write_text(sql, encoding="utf-8")
    return path


def test_builtin_queries_are_loaded_without_files():
    source = load_source()
    assert source.deliveries.origin == "built-in sample_deliveries.sql"
    assert source.items.columns == ITEM_COLUMNS
    assert not source.deliveries.sql.endswith(";")


def test_window_is_one_day_half_open():
    assert window(date(2026, 12, 31)) == {"window_start": date(2026, 12, 31),
                                          "window_end": date(2027, 1, 1)}


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT 1 AS reference_number WHERE x >= :window_start", "does not use :window_end"),
    ("SELECT 1 WHERE d >= :window_start AND d < :window_end AND c = :company",
     "unknown parameter(s) :company"),
])
def test_queries_must_use_exactly_the_window_parameters(tmp_path, sql, message):
    path = _write(tmp_path, "deliveries.sql", sql)
    with pytest.raises(ErpSourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_source(deliveries_query=path)


def test_comments_and_times_do_not_count_as_parameters(tmp_path):
    sql = ("-- filters on :window_start and :window_end\n"
           "SELECT '10:30' AS t, '-- kept' AS k /* :not_a_parameter */\n"
           "FROM x WHERE d >= :window_start AND d < :window_end;\n")
    query = load_source(deliveries_query=_write(tmp_path, "d.sql", sql)).deliveries
    assert query.sql.startswith("SELECT '10:30' AS t, '-- kept' AS k")
    assert query.sql.endswith(":window_end")


def test_unreadable_query_file_is_a_clear_error(tmp_path):
    with pytest.raises(ErpSourceError, match="Cannot read the items query file"):
        load_source(items_query=tmp_path / "missing.sql")


def test_match_columns_is_case_insensitive_and_reports_absent_and_extra():
    query = load_source().deliveries
    names = [n.upper() for n in REQUIRED_JOB] + ["labels", "erp_internal_id"]
    match = match_columns(query, names)
    assert match.missing_required == ()
    assert match.positions["reference_number"] == 0
    assert match.positions["labels"] == len(REQUIRED_JOB)
    assert "dropoff_email" in match.absent_optional
    assert match.extra == ("erp_internal_id",)


def test_missing_columns_error_names_every_missing_column_of_both_queries(tmp_path, sqlite_url):
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (ref TEXT, d DATE)"))
    deliveries = _write(tmp_path, "d.sql", "SELECT ref AS reference_number, d AS scheduled_date "
                        "FROM t WHERE d >= :window_start AND d < :window_end")
    items = _write(tmp_path, "i.sql", "SELECT ref AS reference_number, 1 AS quantity "
                   "FROM t WHERE d >= :window_start AND d < :window_end")
    source = load_source(deliveries, items)
    with pytest.raises(MissingColumnsError) as raised:
        check_source(engine, source)
    message = str(raised.value)
    for name in ("job_type_id", "schedule_type_id", "dropoff_customer_name",
                 "dropoff_address_line_1", "dropoff_country_code", "line_number", "description"):
        assert name in message
    assert str(deliveries) in message and str(items) in message
    assert raised.value.missing["items"] == ("line_number", "description")


def test_sample_queries_pass_the_check(seeded_sqlite):
    matches = check_source(connect(seeded_sqlite.url), load_source())
    assert matches["deliveries"].absent_optional == ("delivery_driver_id",)
    assert matches["items"].absent_optional == ()


@pytest.mark.parametrize("url", [
    "postgresql://u:secretpw@127.0.0.1:1/nodb",
    "postgresql+psycopg2://u:secretpw@127.0.0.1:1/nodb",
    "mysql+pymysql://u:secretpw@127.0.0.1:1/nodb",
])
def test_unreachable_database_names_host_and_database_but_not_the_password(url):
    with pytest.raises(ErpConnectionError) as raised:
        connect(url)
    message = str(raised.value)
    assert "127.0.0.1" in message and "nodb" in message
    assert "secretpw" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_wrong_password_is_scrubbed_from_the_driver_message(pg_url):
    url = sa.make_url(pg_url).set(username="fleet_no_such_user", password="secretpw")
    with pytest.raises(ErpConnectionError) as raised:
        connect(url)
    assert "secretpw" not in str(raised.value)
    assert sa.make_url(pg_url).database in str(raised.value)


def test_a_url_that_does_not_parse_is_not_echoed():
    with pytest.raises(ErpConnectionError) as raised:
        connect("postgresql//u:secretpw@host/db")
    assert "secretpw" not in str(raised.value)


def test_a_failing_query_names_the_query_file_and_database(tmp_path, sqlite_url):
    path = _write(tmp_path, "d.sql",
                  "SELECT * FROM no_such_table WHERE d >= :window_start AND d < :window_end")
    with pytest.raises(ErpQueryError, match="no such table") as raised:
        check_source(connect(sqlite_url), load_source(deliveries_query=path))
    assert str(path) in str(raised.value)
