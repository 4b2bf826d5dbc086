"""Spark (and Databricks): a SparkSession in this process, the one dbt-spark's
``session`` method uses.

dbt-spark's session method calls ``SparkSession.builder.getOrCreate()`` in the process
that runs dbt, and featurestore runs dbt in-process, so featurestore and dbt share one
session: its settings are the profile target's ``server_side_parameters`` with what
featurestore adds (featurestore/dialects/spark_profile.py), the same for dbt and for
featurestore, so whichever side starts the session first starts it the same way. The
metastore (embedded Derby) and the tables live under ``warehouse/spark`` unless the
profile or FEATURESTORE_SPARK_DIR says otherwise, so a table built by one command is
there for the next. Embedded Derby admits one process at a time: two featurestore
commands on the same Spark folder at once wait for each other's end, as two writers of
one DuckDB file do.

What differs from the base: results come back through Arrow (``DataFrame.toArrow`` for a
result kept in memory, batches of ``toLocalIterator`` rows for the sync's reads); a
training set is written as Parquet by Spark's tasks and copied into one file through
Arrow a batch at a time, so it never sits whole in the driver; a Parquet spine is read
in place; parameters are bound by Spark itself (positional ``?`` markers,
``spark.sql(sql, args=[...])``); identifiers are quoted with backticks; a spine is a
temporary view over an Arrow table; Spark has no transactions, so a "transaction" is
the statements in order (featurestore's writes there are single statements).

pyspark is an optional extra (``pip install 'featurestore[spark]'``), imported here only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from featurestore.dialects import spark_profile
from featurestore.dialects.base import Dialect, reads_as_pattern
from featurestore.dialects.expression_sql import SparkSql
from featurestore.dialects.spark_profile import session_config
from featurestore.errors import MissingExtraError, WarehouseError, WarehouseUnreachable

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Spark", "quote", "session_config", "spark_statement", "start_session"]


def quote(identifier: str) -> str:
    """A Spark identifier: backticks, a backtick in the name doubled."""
    return "`" + identifier.replace("`", "``") + "`"


def start_session(config: dict[str, str]):
    """The process's SparkSession with Hive support (a persistent catalog), started
    with ``config`` unless one is running already (dbt's, started from the profile)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise MissingExtraError("pyspark", "spark", "The Spark warehouse target") from None
    Path(config["spark.sql.warehouse.dir"]).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for name, value in config.items():
        builder = builder.config(name, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j and the JVM raise their own types
        raise WarehouseUnreachable(
            f"cannot start Spark with its catalog under {config['spark.sql.warehouse.dir']} "
            f"({exc}). Another process may hold the metastore (embedded Derby admits one); "
            "wait for it to finish. Spark needs Java 17: `make java`."
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass(frozen=True)
class Statement:
    kind: str  # "sql", "skip" (a transaction boundary) or "delete"
    sql: str = ""
    table: str = ""
    where: str = ""


_VARCHAR = re.compile(r"\bvarchar\b(?!\s*\()", re.IGNORECASE)
_TRANSACTION = re.compile(r"\s*(begin(\s+transaction)?|commit|rollback)\s*;?\s*", re.IGNORECASE)
_DELETE = re.compile(r"\s*delete\s+from\s+(\S+)\s+where\s+(.*)", re.IGNORECASE | re.DOTALL)
_ADD_COLUMN = re.compile(r"(\s*alter\s+table\s+\S+\s+add\s+)column\s+(.*)",
                         re.IGNORECASE | re.DOTALL)


def spark_statement(sql: str) -> Statement:
    """featurestore's own statements (its store tables: registry, sync state, gate
    results), written once for every warehouse, as Spark runs them.

    Spark's VARCHAR needs a length: STRING. Spark has no transactions: a boundary is
    skipped (featurestore's writes on Spark are one statement, or a delete then an
    insert of the same small row set, rewritten below). Spark deletes only from Delta,
    Iceberg or Hudi tables: a ``delete from T where c`` keeps the other rows and writes
    them over T. ``add column`` is ``add columns (...)``.
    """
    if _TRANSACTION.fullmatch(sql):
        return Statement("skip")
    deleting = _DELETE.fullmatch(sql)
    if deleting:
        return Statement("delete", table=deleting.group(1), where=deleting.group(2))
    adding = _ADD_COLUMN.fullmatch(sql)
    if adding:
        sql = f"{adding.group(1)}columns ({adding.group(2).strip()})"
    return Statement("sql", _VARCHAR.sub("string", sql))


def _delete_where(session, table: str, where: str, args: list | None) -> None:
    """Rewrite ``table`` without the rows ``where`` holds for. The kept rows are
    materialized (a local checkpoint) before the table is overwritten, as Spark refuses
    to overwrite a table while it reads it."""
    query = f"select * from {table} where not coalesce(({where}), false)"
    kept = (session.sql(query, args=args) if args else session.sql(query)).localCheckpoint()
    kept.write.insertInto(table, overwrite=True)


class SparkCursor:
    """The result of one statement: a DataFrame, read as the DB-API cursor parts
    featurestore uses (``fetchall``, ``fetchone``, ``description``)."""

    def __init__(self, frame):
        self.frame = frame
        self._rows: list[tuple] | None = None

    @property
    def description(self) -> list[tuple]:
        return [(field.name, field.dataType.simpleString(), None, None, None, None,
                 field.nullable) for field in self.frame.schema.fields]

    def fetchall(self) -> list[tuple]:
        if self._rows is None:
            self._rows = [tuple(row) for row in self.frame.collect()]
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple | None:
        if self._rows is None:
            self._rows = [tuple(row) for row in self.frame.collect()]
        return self._rows.pop(0) if self._rows else None


class SparkConnection:
    """The session, with the ``close`` a Warehouse calls: the session itself stays up for
    the process (dbt may be using it); the JVM ends with the process."""

    def __init__(self, session):
        self.session = session

    def close(self) -> None:
        """Nothing to release per connection."""


class Spark(Dialect):
    name = "spark"
    dbt_package = "dbt-spark"
    extra = "spark"
    macro_dialect = "spark"
    # how on-demand expressions are spelled here (featurestore/dialects/expression_sql.py)
    expressions = SparkSql()
    tz_timestamp_types = frozenset({"TIMESTAMP", "TIMESTAMP_LTZ"})
    # https://spark.apache.org/docs/latest/sql-ref-datatypes.html
    type_names = {"int64": "BIGINT", "float64": "DOUBLE", "string": "STRING",
                  "bool": "BOOLEAN", "timestamp": "TIMESTAMP_NTZ"}

    # -- connecting ----------------------------------------------------------------------
    def profile_changes(self, credentials, settings, root: Path, where: str):
        return spark_profile.profile_changes(credentials, settings, root, where)

    def connect(self, target, read_only: bool) -> SparkConnection:
        if spark_profile.method(target.credentials) != "session":
            raise WarehouseError(
                f"{target.where}: method `{spark_profile.method(target.credentials)}`. "
                "featurestore reads Spark through a session in its own process: use a "
                "target with `method: session` (dbt-spark[session]).")
        return SparkConnection(start_session(self.config(target)))

    def config(self, target) -> dict[str, str]:
        return {str(k): str(v) for k, v in target.credentials.server_side_parameters.items()}

    def exists(self, target) -> bool:
        folder = spark_profile.metastore(self.config(target))
        return folder is None or folder.exists()

    def prepare(self, target) -> None:
        folder = self.config(target).get(spark_profile.WAREHOUSE_DIR, "")
        if folder and "://" not in folder and not folder.startswith("file:"):
            Path(folder).mkdir(parents=True, exist_ok=True)

    def describe(self, target) -> str:
        folder = self.config(target).get(spark_profile.WAREHOUSE_DIR, "?")
        return f"Spark (local session) with its tables under {folder}"

    # -- statements ----------------------------------------------------------------------
    def execute(self, connection, sql: str, params):
        """Run one statement; featurestore's own bookkeeping statements (written for
        DuckDB and Snowflake) are spelled the Spark way first (``spark_statement``)."""
        session = connection.session
        statement = spark_statement(sql)
        if statement.kind == "skip":
            return SparkCursor(session.sql("select 1 as skipped where false"))
        args = list(params) if params else None
        if statement.kind == "delete":
            _delete_where(session, statement.table, statement.where, args)
            return SparkCursor(session.sql("select 1 as deleted where false"))
        frame = session.sql(statement.sql, args=args) if args else session.sql(statement.sql)
        return SparkCursor(frame)

    def fetch_arrow(self, connection, sql: str, params) -> pa.Table:
        return self.execute(connection, sql, params).frame.toArrow()

    def stream_batches(self, connection, sql: str, params,
                       batch_size: int) -> Iterator[pa.RecordBatch]:
        """Batches of at most ``batch_size`` rows, one Spark partition in the driver at a
        time (``toLocalIterator`` with prefetch off), never the whole result."""
        import pyarrow as pa

        frame = self.execute(connection, sql, params).frame
        schema = frame.schema
        names = schema.fieldNames()
        rows: list = []
        arrow_schema = _arrow_schema(schema)
        for row in frame.toLocalIterator(prefetchPartitions=False):
            rows.append(row)
            if len(rows) >= batch_size:
                yield _batch(rows, names, arrow_schema, pa)
                rows = []
        if rows:
            yield _batch(rows, names, arrow_schema, pa)

    runs_partitions = True

    def map_partitions(self, warehouse, sql: str, keys: list[str], partitions: int,
                       function) -> list:
        """The executors run ``function`` over each partition's rows
        (``RDD.mapPartitions``); the driver collects only what it yields."""
        import sys

        from pyspark.sql import functions

        frame = self.execute(warehouse.connection, sql, None).frame
        context = frame.sparkSession.sparkContext
        if context.master.startswith("local"):
            # local tasks run on this machine: this interpreter, where featurestore is
            # installed, rather than pyspark's default (PYSPARK_PYTHON, else `python3`)
            context.pythonExec = sys.executable
        frame = frame.repartition(partitions, *[functions.col(k.strip("`")) for k in keys])
        return frame.rdd.mapPartitions(function).collect()

    def is_driver_error(self, exc: BaseException) -> bool:
        return type(exc).__module__.startswith(("pyspark", "py4j"))

    # -- names ---------------------------------------------------------------------------
    def column(self, name: str) -> str:
        return quote(name)

    def alias(self, name: str) -> str:
        return quote(name)

    # -- values --------------------------------------------------------------------------
    def string_literal(self, text: str) -> str:
        """Spark reads a backslash in a string literal as an escape (``'\\n'`` is a
        newline), so a backslash is escaped, and a quote too (``\\'``). ``${`` is written
        ``$\\{`` (an escaped brace is the brace): a session that substitutes variables in
        SQL text (``spark.sql.variable.substitute``, off in featurestore's sessions, on by
        default elsewhere) then finds no ``${env:NAME}`` to replace.
        https://spark.apache.org/docs/latest/sql-ref-literals.html#string-literal"""
        escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("${", "$\\{")
        return "'" + escaped + "'"

    @staticmethod
    def timestamp_literal(value: dt.datetime) -> str:
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"timestamp_ntz'{value.isoformat(sep=' ', timespec='microseconds')}'"

    # -- built states --------------------------------------------------------------------
    def shard_of(self, columns: list[str], shards: int) -> str:
        # https://spark.apache.org/docs/latest/api/sql/#pmod: never negative, unlike %
        return f"pmod(xxhash64({', '.join(columns)}), {int(shards)})"

    def fingerprint_sql(self, relation: str, columns: list[str]) -> str:
        # https://spark.apache.org/docs/latest/api/sql/#xxhash64: a 64-bit hash of the
        # row; Spark's hashes skip a null argument, so which columns are null is hashed
        # too. Summed as decimals: a sum of longs would overflow.
        nulls = ", ".join(f"if({column} is null, '1', '0')" for column in columns)
        return (f"select count(*), cast(coalesce(sum(cast(xxhash64({', '.join(columns)}, "
                f"concat({nulls})) as decimal(38, 0))), 0) as string) from {relation}")

    def full_match(self, expr: str, pattern: str) -> str:
        # https://spark.apache.org/docs/latest/api/sql/#rlike: a match anywhere, so anchored
        return f"({expr} rlike '^(?:{pattern})$')"

    def text_timestamp(self, expr: str) -> str:
        # the session runs in UTC: an offset in the text is applied, a naive text is UTC
        return f"cast(try_cast({expr} as timestamp) as timestamp_ntz)"

    # -- training sets -------------------------------------------------------------------
    def load_arrow(self, warehouse, table: pa.Table, name: str) -> str:
        """A temporary view over the Arrow rows (Spark reads them through Arrow)."""
        warehouse.connection.session.createDataFrame(table).createOrReplaceTempView(name)
        return quote(name)

    def drop_arrow(self, warehouse, name: str) -> None:
        warehouse.connection.session.catalog.dropTempView(name)

    def file_relation(self, path: Path) -> str | None:
        """A Parquet spine is read in place by Spark (no trip through this process)."""
        if self.spine_format(path) != "parquet" or reads_as_pattern(path):
            return None
        return f"parquet.{quote(str(path.resolve()))}"

    def export_parquet(self, warehouse, sql: str, path: Path, names: list[str],
                       batch_size: int = 100_000) -> None:
        """Spark writes the result's partitions as Parquet (from its tasks, never through
        the driver), next to ``path``; they are then copied into the one file ``path``
        through Arrow, a batch at a time, so memory holds one batch whatever the size.

        Timestamps are written as INT64 microseconds, as DuckDB writes them: an instant
        (TIMESTAMP, from an aware spine) adjusted to UTC, read back as
        ``timestamp[us, tz=UTC]``; a naive TIMESTAMP_NTZ as ``timestamp[us]``. Spark's
        default, INT96, comes back as naive nanoseconds, its zone lost."""
        import tempfile

        import pyarrow.parquet as pq

        session = warehouse.connection.session
        frame = session.sql(sql).toDF(*names)
        with tempfile.TemporaryDirectory(prefix=".spark-parts-", dir=path.parent) as parts:
            folder = Path(parts) / "result"
            with _session_conf(session, PARQUET_TIMESTAMPS, "TIMESTAMP_MICROS"):
                frame.write.parquet(str(folder))
            files = sorted(folder.glob("part-*.parquet"))
            writer = None
            try:
                for file in files:
                    for batch in pq.ParquetFile(file).iter_batches(batch_size=batch_size):
                        if writer is None:
                            writer = pq.ParquetWriter(path, batch.schema)
                        writer.write_batch(batch)
                if writer is None:  # no rows: still a file, with the result's columns
                    schema = (pq.read_schema(files[0]) if files
                              else _arrow_schema(frame.schema))
                    writer = pq.ParquetWriter(path, schema)
            finally:
                if writer is not None:
                    writer.close()

    @contextlib.contextmanager
    def join_memory(self, warehouse, limit: str | None) -> Iterator[None]:
        """Spark's memory is the driver's (``FEATURESTORE_SPARK_DRIVER_MEMORY``), set when
        the session starts; spilling is Spark's own."""
        yield


PARQUET_TIMESTAMPS = "spark.sql.parquet.outputTimestampType"


@contextlib.contextmanager
def _session_conf(session, name: str, value: str) -> Iterator[None]:
    """A runtime setting for the block, the session's own restored after (the session
    is shared with dbt, whose tables keep its settings)."""
    previous = session.conf.get(name, None)
    session.conf.set(name, value)
    try:
        yield
    finally:
        if previous is None:
            session.conf.unset(name)
        else:
            session.conf.set(name, previous)


def _arrow_schema(schema):
    """The Arrow schema Spark's own Arrow conversion gives ``schema``."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema, timezone="UTC", prefers_large_types=False)


def _batch(rows: list, names: list[str], schema, pa) -> pa.RecordBatch:
    columns = [[row[i] for row in rows] for i in range(len(names))]
    return pa.RecordBatch.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)],
        schema=schema)
