"""What every warehouse does the same way, and the hooks where one differs.

One object per warehouse, as sqlglot has one class per dialect: ``DuckDB``,
``Snowflake`` and ``Spark`` override what differs (connecting, quoting, type names,
string literals and their escapes, streaming, exporting a training set, reading a spine
file) and inherit the rest, so no ``if target == ...`` branch is spread across modules.
``Warehouse`` (featurestore/warehouse.py) holds one of these; ``for_target``
(featurestore/dialects/__init__.py) picks it by the dbt adapter's type.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurestore.dialects.expression_sql import ExpressionSql
from featurestore.dtypes import DTYPES, sql_literal
from featurestore.errors import SpineError

if TYPE_CHECKING:
    import pyarrow as pa

    from featurestore.settings import Settings

# ``target`` below is the resolved dbt target (featurestore/dbt_profile.py, DbtTarget):
# the profile's output as dbt renders it, with the adapter's credentials.


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def jinja_literal(text: str) -> str:
    """``text`` as a value of a profile that dbt renders with Jinja: itself, or a Jinja
    string literal when it holds a brace (so a path can never become a template) or a
    character Jinja would change (a line break is normalized, a trailing one dropped):
    those are written as escapes, which the literal decodes back."""
    if "{" not in text and text.isprintable():
        return text
    escaped = "".join("\\\\" if c == "\\" else "\\'" if c == "'" else c if c.isprintable()
                      else c.encode("unicode-escape").decode("ascii") for c in text)
    return "{{ '" + escaped + "' }}"


# a spine file's suffix -> its format
SPINE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
# characters a warehouse's file reader takes as a glob pattern, not as part of the name
GLOB_CHARACTERS = frozenset("*?[]{}")


def reads_as_pattern(path: Path) -> bool:
    """Whether a file reader would read ``path`` as a glob pattern (the files it matches,
    while the training set's manifest hashes this one): such a file is read through
    Arrow instead."""
    return bool(GLOB_CHARACTERS & set(str(path)))


@dataclass(frozen=True)
class Change:
    """One value featurestore sets in the profile's target, for dbt and for itself.

    ``key`` is its place in the target's output (``("path",)``,
    ``("server_side_parameters", "spark.sql.session.timeZone")``); ``value`` what the
    changed profile says there (a literal, or an ``env_var()`` call, so a secret never
    lands in a file); ``was`` the profile's own value (None: unset there); ``variable`` the
    override that asked for it, or None for a setting featurestore needs (``reason``) or
    only spells differently (a relative path made absolute, a default added).
    """

    key: tuple[str, ...]
    value: Any
    shown: str
    was: Any = None
    variable: str | None = None
    reason: str = ""
    secret: bool = False

    def note(self, where: str) -> str | None:
        """The line that says so, when the change overrules a value the profile set."""
        name = self.key[-1]
        if self.variable and self.secret:
            return (f"{self.variable} overrides `{name}` of {where} (values not shown); "
                    f"dbt and featurestore both use {self.variable}.")
        if self.variable:
            was = "unset" if self.was is None else str(self.was)
            return (f"{self.variable} overrides `{name}: {was}` of {where}; dbt and "
                    f"featurestore both use {self.shown}.")
        if self.was is None or not self.reason:
            return None
        return (f"{where} sets `{name}: {self.was}`; featurestore needs {self.shown} "
                f"({self.reason}), so dbt and featurestore both run with {self.shown}.")


class Dialect:
    """A warehouse featurestore can run on. Subclasses set ``name`` and connect."""

    name = "default"  # the dbt adapter's type (a profile target's ``type:``)
    # the dbt adapter's package and featurestore's extra that installs it (None: a core
    # dependency)
    dbt_package: str | None = None
    extra: str | None = None
    # the macro bodies (duckdb__ / snowflake__ / default__) featurestore renders for it
    macro_dialect = "default"
    # how on-demand expressions are spelled here (featurestore/dialects/expression_sql.py)
    expressions = ExpressionSql()
    # warehouse type names (upper case, without parameters) of timezone-aware timestamps
    tz_timestamp_types: frozenset[str] = frozenset()
    # dtype -> the column type the warehouse stores it as (the portable one if unnamed)
    type_names: dict[str, str] = {}

    # -- connecting ----------------------------------------------------------------------
    def profile_changes(self, credentials, settings: Settings, root: Path,
                        where: str) -> list[Change]:
        """What featurestore changes in the profile's target before dbt and featurestore
        use it: the overrides set in ``settings`` that differ from the profile, and the
        settings featurestore needs. ``credentials`` are the adapter's, as dbt rendered
        them; ``where`` names the target in messages."""
        return []

    def connect(self, target, read_only: bool):
        raise NotImplementedError

    def exists(self, target) -> bool:
        """Whether there is a warehouse to read (a remote one always is)."""
        return True

    def prepare(self, target) -> None:
        """Make what dbt needs before it opens the warehouse (a folder, for a file)."""

    def describe(self, target) -> str:
        return self.name

    def release_dbt(self) -> None:
        """Let go of what the dbt adapter keeps open in this process after a run, so
        featurestore (and other processes) can open the warehouse next."""

    # -- statements ----------------------------------------------------------------------
    def execute(self, connection, sql: str, params):
        cursor = connection.cursor()
        cursor.execute(sql, params or None)
        return cursor

    def fetch_arrow(self, connection, sql: str, params) -> pa.Table:
        return self.execute(connection, sql, params).fetch_arrow_all()

    def stream_batches(self, connection, sql: str, params,
                       batch_size: int) -> Iterator[pa.RecordBatch]:
        for table in self.execute(connection, sql, params).fetch_arrow_batches():
            yield from table.to_batches(max_chunksize=batch_size)

    def result_types(self, cursor) -> dict[str, str]:
        """Column name -> warehouse type of the cursor's last result."""
        return {column[0]: str(column[1]) for column in cursor.description}

    def is_driver_error(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the driver refusing a statement (a WarehouseError)."""
        return False

    # -- names ---------------------------------------------------------------------------
    def column(self, name: str) -> str:
        """A contract's column name as the warehouse stores an unquoted identifier."""
        return quote(name)

    def alias(self, name: str) -> str:
        """An output column named exactly ``name``, its case kept."""
        return quote(name)

    def default_schema(self, target) -> str:
        """The schema dbt builds models in: the target's."""
        return target.schema

    def store_schema(self, connection, schema: str) -> str:
        """The qualified schema of featurestore's own tables."""
        return schema

    def warehouse_file(self, target) -> Path | None:
        """The local file that is the warehouse (None: a warehouse elsewhere)."""
        return None

    # -- values --------------------------------------------------------------------------
    def type_name(self, dtype: str) -> str:
        """The column type this warehouse stores ``dtype`` as: ``TIMESTAMP_NTZ``."""
        return self.type_names.get(dtype) or DTYPES[dtype].portable.upper()

    def literal(self, dtype: str, value: object) -> str:
        """A contract value (a default, an allowed value) as this warehouse's SQL literal
        (strings through ``string_literal``, timestamps through ``timestamp_literal``)."""
        return sql_literal(dtype, value, self)

    def string_literal(self, text: str) -> str:
        """``text`` as a string literal this warehouse reads as exactly ``text``.
        Standard SQL, as DuckDB reads it: a quote is doubled, nothing else is special."""
        return "'" + text.replace("'", "''") + "'"

    @staticmethod
    def timestamp_literal(value: dt.datetime) -> str:
        """A naive UTC timestamp literal (aware values are converted to UTC first)."""
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"cast('{value.isoformat(sep=' ', timespec='microseconds')}' as timestamp)"

    def utc_naive(self, expr: str) -> str:
        """SQL: a timezone-aware timestamp as naive UTC (its instant, zone dropped), as
        the point-in-time macros spell it for this warehouse."""
        from featurestore.sql_render import render_utc_naive

        return render_utc_naive(self.macro_dialect, expr)

    def is_tz_type(self, warehouse_type: str) -> bool:
        """Whether a column of this type holds timezone-aware timestamps."""
        base = warehouse_type.split("(")[0].strip().upper()
        return base in self.tz_timestamp_types

    # -- built states --------------------------------------------------------------------
    def fingerprint_sql(self, relation: str, columns: list[str]) -> str:
        """SQL of one row: the number of rows of ``relation`` and a digest of them that
        does not depend on their order (as text). It identifies a built state of a view,
        whoever built it, so that what may be published is judged per state
        (gates/verdicts.py). ``columns``: every column, quoted, in order."""
        raise NotImplementedError(f"the {self.name} dialect cannot fingerprint a relation")

    # -- a sync in shards ----------------------------------------------------------------
    def shard_of(self, columns: list[str], shards: int) -> str:
        """SQL: which of ``shards`` key-hash shards (0 to shards - 1) the row whose keys
        are ``columns`` (quoted) falls in; the same key always gives the same shard."""
        # https://docs.snowflake.com/en/sql-reference/functions/hash: a signed 64-bit hash
        # of its arguments, nulls included; abs() of it is a NUMBER, so it never overflows
        return f"mod(abs(hash({', '.join(columns)})), {int(shards)})"

    runs_partitions = False  # True: map_partitions runs Python beside the data

    def map_partitions(self, warehouse, sql: str, keys: list[str], partitions: int,
                       function) -> list:
        """Run ``function`` over the rows of each of ``partitions`` partitions of ``sql``
        split by a hash of ``keys`` (quoted), where the data lives, and return what each
        call yields: only that reaches this process, never a row (Spark)."""
        raise NotImplementedError(f"the {self.name} dialect runs no code beside its data")

    # where a run's shards wait for the workers (sync/shard_sources.py): False, a table
    # in the warehouse that each worker reads its shard of over its own connection; True,
    # Parquet files (export_shards), for a warehouse only one process may open (DuckDB)
    shards_as_files = False

    def export_shards(self, warehouse, sql: str, directory: Path, column: str) -> None:
        """Write the rows of ``sql`` into ``directory/<column>=<shard>/*.parquet`` by
        their ``column`` (which the files leave out), without a row passing through
        this process (``shards_as_files`` warehouses only)."""
        raise NotImplementedError(f"the {self.name} dialect keeps its shards in a table")

    def stage_shards(self, warehouse, sql: str, relation: str) -> None:
        """Materialize the rows of ``sql`` once, as the table ``relation``, for the
        workers to read a shard each; the warehouse computes it, no row reaches here."""
        warehouse.execute(f"create table {relation} as\n{sql}")

    # -- training sets -------------------------------------------------------------------
    @contextlib.contextmanager
    def join_memory(self, warehouse, limit: str | None) -> Iterator[None]:
        """Run a training set's join under the warehouse's memory settings: a cap, where
        the warehouse can have one."""
        yield

    def load_arrow(self, warehouse, table: pa.Table, name: str) -> str:
        """Make the Arrow ``table`` (a spine, a landed file) readable in SQL for this
        connection under ``name``; its relation."""
        raise NotImplementedError

    def drop_arrow(self, warehouse, name: str) -> None:
        """Forget what ``load_arrow`` made readable."""

    def try_cast(self, expr: str, data_type: str) -> str:
        """SQL: ``expr`` as ``data_type``, or null where it does not convert."""
        return f"try_cast({expr} as {data_type})"

    def full_match(self, expr: str, pattern: str) -> str:
        """SQL: whether the text ``expr`` is matched whole by the regular expression
        ``pattern`` (no backslashes in it: string literals escape differently)."""
        return f"regexp_full_match({expr}, '{pattern}')"

    def text_timestamp(self, expr: str) -> str:
        """SQL: the text ``expr`` as a naive UTC timestamp, an offset it carries applied
        (``...+02:00`` is two hours earlier in UTC); null where it is not a timestamp."""
        return f"timezone('UTC', try_cast({expr} as timestamptz))"

    @staticmethod
    def spine_format(path: Path) -> str:
        """``parquet`` or ``csv``: the formats a spine file may have, by its suffix."""
        fmt = SPINE_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise SpineError(str(path), f"unsupported spine format `{path.suffix or '(none)'}`; "
                             "write it as .parquet or .csv")
        return fmt

    def file_relation(self, path: Path) -> str | None:
        """SQL that reads a local spine file in place, where the warehouse can (else None:
        the file is read into Arrow here and loaded with ``load_arrow``, as is a path the
        reader would take as a pattern, ``reads_as_pattern``)."""
        return None

    def export_parquet(self, warehouse, sql: str, path: Path, names: list[str],
                       batch_size: int = 100_000) -> None:
        """Write the result of ``sql`` to ``path`` as Parquet, streamed through Arrow, so
        a training set never has to fit in this process's memory at once. ``names`` are
        the output's column names, in order: a warehouse that folds unquoted names to
        upper case gives them back as the contracts spell them."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        def named(batch):
            return pa.RecordBatch.from_arrays(batch.columns, names=names)

        writer = None
        try:
            for batch in self.stream_batches(warehouse.connection, sql, None, batch_size):
                batch = named(batch)
                if writer is None:
                    writer = pq.ParquetWriter(path, batch.schema)
                writer.write_batch(batch)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no rows at all: still a file, with the result's columns
            table = self.fetch_arrow(warehouse.connection, sql, None)
            pq.write_table(table.rename_columns(names), path)
