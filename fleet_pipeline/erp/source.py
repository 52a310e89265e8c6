"""The ERP as a source: a database URL plus two SQL files that map its schema to canonical rows.

A deployment maps its own ERP without code: the deliveries query and the items query are .sql
files that take the bind parameters `:window_start` and `:window_end` (the half-open window of
scheduled dates one partition covers) and return the columns of fleet_pipeline.erp.canonical.
Without files, the built-in queries for the sample ERP are used.

Errors name the database by host and name, never with its password: a URL, a driver message or a
chained exception can all carry it, so messages are built from the parsed URL and the driver's
text is scrubbed before it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

import sqlalchemy as sa

from fleet_pipeline.erp.canonical import ITEM_COLUMNS, JOB_COLUMNS, WINDOW_PARAMS, Column

BUILTIN_DELIVERIES = "sample_deliveries.sql"
BUILTIN_ITEMS = "sample_items.sql"


class ErpSourceError(Exception):
    """The ERP source cannot be read as configured; the message says what to fix."""


class ErpConnectionError(ErpSourceError):
    pass


class ErpQueryError(ErpSourceError):
    pass


class MissingColumnsError(ErpSourceError):
    def __init__(self, missing: dict[str, tuple[str, ...]], origins: dict[str, str]):
        self.missing = missing
        parts = [f"the {name} query ({origins[name]}) lacks {', '.join(columns)}"
                 for name, columns in missing.items()]
        super().__init__(
            "Required canonical column(s) missing: " + "; ".join(parts)
            + ". Return them, aliased to these names (see docs/erp-mapping.md).")


@dataclass(frozen=True)
class SourceQuery:
    name: str  # "deliveries" or "items"
    sql: str
    origin: str  # the file it came from, for messages
    columns: tuple[Column, ...]  # the canonical columns it must return

    def statement(self) -> sa.TextClause:
        # Typed binds: SQLite stores dates as ISO text, and the Date type renders them so.
        return sa.text(self.sql).bindparams(
            *(sa.bindparam(name, type_=sa.Date) for name in WINDOW_PARAMS))


@dataclass(frozen=True)
class Source:
    deliveries: SourceQuery
    items: SourceQuery

    def queries(self) -> tuple[SourceQuery, SourceQuery]:
        return self.deliveries, self.items


@dataclass(frozen=True)
class ColumnMatch:
    """How a query's result columns line up with the canonical ones."""

    positions: dict[str, int]  # canonical name -> position in the result
    missing_required: tuple[str, ...]
    absent_optional: tuple[str, ...]  # these arrive as NULL
    extra: tuple[str, ...]  # returned but not canonical: ignored


def load_source(deliveries_query: str | Path | None = None,
                items_query: str | Path | None = None) -> Source:
    """The two source queries: from the files given, or the built-in sample ERP ones."""
    return Source(
        deliveries=_load("deliveries", deliveries_query, BUILTIN_DELIVERIES, JOB_COLUMNS),
        items=_load("items", items_query, BUILTIN_ITEMS, ITEM_COLUMNS),
    )


def _load(name: str, path: str | Path | None, builtin: str,
          columns: tuple[Column, ...]) -> SourceQuery:
    if path is None:
        sql = resources.files("fleet_pipeline.erp.queries").joinpath(builtin).read_text("utf-8")
        origin = f"built-in {builtin}"
    else:
        try:
            sql = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ErpSourceError(f"Cannot read the {name} query file {path}: "
                                 f"{exc.strerror}") from None
        origin = str(path)
    # One statement: a trailing semicolon is dropped, as some drivers wrap the query in another.
    sql = strip_comments(sql).strip().rstrip(";").rstrip()
    binds = set(sa.text(sql).compile().params)
    wanted = set(WINDOW_PARAMS)
    if binds != wanted:
        problems = []
        if wanted - binds:
            problems.append("does not use " + ", ".join(f":{p}" for p in sorted(wanted - binds)))
        if binds - wanted:
            problems.append("uses unknown parameter(s) "
                            + ", ".join(f":{p}" for p in sorted(binds - wanted)))
        raise ErpSourceError(f"The {name} query ({origin}) {' and '.join(problems)}; it must "
                             "filter on exactly :window_start and :window_end.")
    return SourceQuery(name=name, sql=sql, origin=origin, columns=columns)


_COMMENT_OR_QUOTED = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|--[^\n]*|/\*.*?\*/""",
                                re.DOTALL)


def strip_comments(sql: str) -> str:
    """The SQL without comments: a `:name` in a comment would otherwise count as a parameter."""
    return _COMMENT_OR_QUOTED.sub(lambda m: m.group(1) or "", sql)


def window(day: date) -> dict[str, date]:
    """Bind parameters for one partition: the scheduled dates in [day, day + 1)."""
    return {"window_start": day, "window_end": day + timedelta(days=1)}


def match_columns(query: SourceQuery, result_names: Sequence[str]) -> ColumnMatch:
    # Case-insensitive: some databases fold unquoted aliases to upper or lower case.
    by_name = {name.lower(): i for i, name in enumerate(result_names)}
    canonical = {c.name for c in query.columns}
    positions = {c.name: by_name[c.name] for c in query.columns if c.name in by_name}
    return ColumnMatch(
        positions=positions,
        missing_required=tuple(c.name for c in query.columns
                               if c.required and c.name not in positions),
        absent_optional=tuple(c.name for c in query.columns
                              if not c.required and c.name not in positions),
        extra=tuple(n for n in result_names if n.lower() not in canonical),
    )


def require_columns(matches: dict[str, ColumnMatch], source: Source) -> None:
    missing = {name: m.missing_required for name, m in matches.items() if m.missing_required}
    if missing:
        raise MissingColumnsError(missing, {q.name: q.origin for q in source.queries()})


def check_source(engine: sa.Engine, source: Source) -> dict[str, ColumnMatch]:
    """Run both queries over an empty window and compare their columns with the canonical ones.

    Raises MissingColumnsError naming every required column either query lacks.
    """
    empty = {"window_start": date.today(), "window_end": date.today()}
    matches: dict[str, ColumnMatch] = {}
    with connection(engine) as conn:
        for query in source.queries():
            with guarded(engine, query):
                names = list(conn.execute(query.statement(), empty).keys())
            matches[query.name] = match_columns(query, names)
    require_columns(matches, source)
    return matches


def describe_url(url: sa.URL) -> str:
    """Host and database of a URL, for messages; never the password."""
    where = f"database {url.database!r}"
    if url.host:
        where += f" on host {url.host}" + (f":{url.port}" if url.port else "")
    return f"{where} ({url.render_as_string(hide_password=True)})"


def connect(url: str | sa.URL) -> sa.Engine:
    """An engine for the ERP, after checking that the database answers."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        # The parser's message repeats the whole URL, password included.
        raise ErpConnectionError("The ERP URL is not a valid SQLAlchemy database URL "
                                 "(dialect+driver://user:password@host:port/database).") from None
    parsed = _installed_driver(parsed)
    try:
        engine = sa.create_engine(parsed)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ErpConnectionError(f"No database driver for {describe_url(parsed)}: {exc}") from None
    with connection(engine):
        pass
    return engine


# A URL without a driver ("postgresql://") means SQLAlchemy's default driver for the dialect;
# where that one is not installed but the one the project ships with is, use that instead.
_SHIPPED_DRIVERS = {"postgresql": ("psycopg", "psycopg2"), "mysql": ("MySQLdb", "pymysql"),
                    "mariadb": ("MySQLdb", "pymysql")}


def _installed_driver(url: sa.URL) -> sa.URL:
    default, shipped = _SHIPPED_DRIVERS.get(url.drivername, (None, None))
    if default and find_spec(default) is None and find_spec(shipped) is not None:
        return url.set(drivername=f"{url.drivername}+{shipped}")
    return url


@contextmanager
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """engine.connect() that turns a failure to connect into ErpConnectionError."""
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise ErpConnectionError(f"Cannot connect to the ERP {describe_url(engine.url)}: "
                                 f"{driver_message(exc, engine.url)}") from None
    with conn:
        yield conn


@contextmanager
def guarded(engine: sa.Engine, query: SourceQuery) -> Iterator[None]:
    """Turns a database error while running `query` into ErpQueryError, password scrubbed.

    Both kinds: SQLAlchemy's wrapper, and the driver's own error from a DBAPI cursor used
    directly.
    """
    try:
        yield
    except (sa.exc.DBAPIError, engine.dialect.loaded_dbapi.Error) as exc:
        raise ErpQueryError(
            f"The {query.name} query ({query.origin}) failed on the ERP "
            f"{describe_url(engine.url)}: {driver_message(exc, engine.url)}") from None


def driver_message(exc: Exception, url: sa.URL) -> str:
    """The first line of the driver's own message, with the password blanked out."""
    error = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return text
