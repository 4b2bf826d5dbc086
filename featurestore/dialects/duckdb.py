"""DuckDB, the embedded default: a file under the project, opened in this process.

The file is the dbt profile's ``path`` (relative paths from the project folder, where
featurestore runs dbt), or FEATURESTORE_DUCKDB_PATH, which then overrides it for dbt too.
What differs from the base: the connection is a file (which must exist before it can be
read, and may be held by another process); results come back as Arrow without a
cursor; training sets are written by DuckDB itself (``COPY ... TO``), never through
Python; the session time zone is UTC, so a ``TIMESTAMP WITH TIME ZONE`` compares with a
naive UTC timestamp by its instant, whatever the machine's zone.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from featurestore.dialects.base import Change, Dialect, jinja_literal, quote, reads_as_pattern
from featurestore.dialects.expression_sql import DuckDBSql
from featurestore.errors import ProjectError, WarehouseError, WarehouseUnreachable

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # md:, s3://; not a one-letter drive
# what DuckDB's memory_limit reads: a number and a unit (https://duckdb.org/docs/stable/
# configuration/overview: KB, MB, GB, TB and their KiB... forms)
_SIZE = re.compile(r"[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B)", re.I)


# The target's `settings` that FEATURESTORE_DUCKDB_MEMORY_LIMIT sets (dbt-duckdb runs `SET
# name = value` for each on every cursor; featurestore's own connection sets these two):
# the cap, past which DuckDB spills to `<database file>.tmp/` beside the file, and
# insertion order given up, so that operators need not buffer rows to keep it
# (https://duckdb.org/docs/stable/guides/performance/how_to_tune_workloads). Not
# temp_directory: dbt-duckdb sets `settings` again on every cursor, and DuckDB refuses to
# switch the folder once it has spilled ("Cannot switch temporary directory after the
# current one has been used"), which failed a build here; the default beside the file
# serves. Measured on the 200,000-user rolling-window build (docs/incremental.md).
MEMORY_SETTINGS = ("memory_limit", "preserve_insertion_order")

# A training set's join frees its partitioned input a piece at a time (2 to 4 MiB) while
# it sorts it, and DuckDB's allocator keeps freed pages for reuse unless one free passes
# this threshold (default 512 MiB: https://duckdb.org/docs/stable/configuration/overview,
# allocator_bulk_deallocation_flush_threshold). Under FEATURESTORE_DUCKDB_MEMORY_LIMIT
# the join hands them back at 1 MiB, so the process stays near the cap the user set: 5M
# spine rows x 20M at 1500MB, 1.45 GiB instead of 1.53 GiB, for 1.22x instead of 1.10x
# the floor's time. Without a cap DuckDB's default stands: handing the pages back cost
# 1.18 to 1.31x the floor's time for 1.01 to 1.02x its memory, against 1.00 to 1.12x and
# 1.08 to 1.12x (idle machine; bench/pit_join.py, docs/scale.md "Training sets at the
# floor").
JOIN_FLUSH_THRESHOLD = "1MiB"
_FLUSH_SETTING = "allocator_bulk_deallocation_flush_threshold"

# DuckDB's allocator (its own jemalloc) keeps freed pages for a second before it hands
# them back (its compiled-in dirty_decay_ms:1000), so a join that frees its partitions
# while it sorts holds both at its peak. jemalloc reads this variable when DuckDB first
# allocates, before any SQL: 50 ms gives the pages back as the sort goes, without
# faulting in again the ones it reuses at once. muzzy_decay_ms:0 makes that a real
# return (MADV_DONTNEED) where jemalloc would otherwise free lazily (MADV_FREE, still
# counted in RSS). Measured on the training set of issue 21 (idle machine, the floor's
# own join over the view's table, bench/pit_join.py): 1M x 5M 542 -> 528 MiB, 5M x 20M
# 1,840 -> 1,804 MiB, the same CPU time; 0 ms gave 8 to 10% less again for 25% more
# time (docs/scale.md, "The allocator's decay and the writer's row groups").
ALLOCATOR_VARIABLE = "DUCKDB_JE_MALLOC_CONF"
ALLOCATOR_FOR_JOINS = "dirty_decay_ms:50,muzzy_decay_ms:0"

# The rows of a training set's Parquet row group: half DuckDB's 122,880. Its writer holds
# each thread's row group in memory until it is written, and with the rows' order kept,
# those waiting their turn: 20 MiB less at the peak of both sizes of issue 21's training
# set (1M x 5M 530 -> 507 MiB, 5M x 20M 1,797 -> 1,777 MiB), for the same time and the
# same file size (132 MiB at 5M rows), read as fast (bench/pit_join.py; docs/scale.md,
# "The allocator's decay and the writer's row groups").
TRAINING_ROW_GROUP_ROWS = 61_440


def allocator_for_joins() -> bool:
    """Set ALLOCATOR_FOR_JOINS for this process's DuckDB, unless the user set the variable
    or DuckDB is already imported (its allocator may have read its settings): whether it
    now applies. For commands that run one large join and end, such as ``featurestore
    training-set``; never from the SDK, whose process is the user's."""
    if "duckdb" in sys.modules or "_duckdb" in sys.modules:
        return False
    return os.environ.setdefault(ALLOCATOR_VARIABLE, ALLOCATOR_FOR_JOINS) == ALLOCATOR_FOR_JOINS


def memory_changes(credentials, settings) -> list[Change]:
    """FEATURESTORE_DUCKDB_MEMORY_LIMIT as the target's ``settings.memory_limit`` (for dbt's
    builds as for featurestore's joins), with ``preserve_insertion_order: false`` unless
    the profile says otherwise; nothing without the variable."""
    limit = settings.duckdb_memory_limit
    if not limit:
        return []
    if not _SIZE.fullmatch(limit):
        raise ProjectError(
            f"FEATURESTORE_DUCKDB_MEMORY_LIMIT={limit!r} is not a size DuckDB reads: write "
            "a number and a unit, e.g. FEATURESTORE_DUCKDB_MEMORY_LIMIT=1500MB or 2GB.")
    given = dict(getattr(credentials, "settings", None) or {})
    changes = []
    if str(given.get("memory_limit", "")).strip() != limit:
        changes.append(Change(("settings", "memory_limit"), jinja_literal(limit), limit,
                              given.get("memory_limit"),
                              variable="FEATURESTORE_DUCKDB_MEMORY_LIMIT"))
    if "preserve_insertion_order" not in given:
        changes.append(Change(("settings", "preserve_insertion_order"), "false", "false"))
    return changes


class DuckDB(Dialect):
    name = "duckdb"
    dbt_package = "dbt-duckdb"
    macro_dialect = "duckdb"
    # how on-demand expressions are spelled here (featurestore/dialects/expression_sql.py)
    expressions = DuckDBSql()
    tz_timestamp_types = frozenset({"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"})
    # https://duckdb.org/docs/stable/sql/data_types/overview
    type_names = {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR",
                  "bool": "BOOLEAN", "timestamp": "TIMESTAMP"}
    # a spine file's format -> the table function that reads it in place
    file_readers = {"parquet": "read_parquet", "csv": "read_csv"}

    def profile_changes(self, credentials, settings, root: Path, where: str) -> list[Change]:
        """FEATURESTORE_DUCKDB_PATH over the profile's ``path``, when they differ; with
        FEATURESTORE_DUCKDB_MEMORY_LIMIT, the memory settings of ``memory_changes``."""
        return [*self.path_changes(credentials, settings, root, where),
                *memory_changes(credentials, settings)]

    def path_changes(self, credentials, settings, root: Path, where: str) -> list[Change]:
        path = str(credentials.path or "")
        if path == ":memory:" or not path or _URI.match(path):
            raise ProjectError(
                f"{where}: path {path or '(empty)'!r}. featurestore reads the warehouse dbt "
                "built from another connection, so it must be a DuckDB file: set `path:` "
                "to one, e.g. `path: warehouse/featurestore.duckdb`.")
        override = settings.duckdb_path
        if override is None or (root / Path(path).expanduser()).resolve() == override.resolve():
            return []
        return [Change(("path",), jinja_literal(str(override)), str(override), path,
                       variable="FEATURESTORE_DUCKDB_PATH")]

    def connect(self, target, read_only: bool):
        """The warehouse file, with the profile's memory settings (MEMORY_SETTINGS) as dbt
        sets them on its own connection."""
        import duckdb

        path = target.duckdb_path
        if read_only and not path.exists():
            raise WarehouseError(
                f"{path}: no warehouse yet. Build it first: `featurestore build` "
                "(or `featurestore demo` for the demo data)."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            raise WarehouseUnreachable(
                f"{path}: cannot open the DuckDB warehouse ({exc}). Another process (a dbt "
                "run, a sync) may hold it; wait for it to finish."
            ) from None
        connection.execute("set TimeZone = 'UTC'")
        for name, value in (getattr(target.credentials, "settings", None) or {}).items():
            if name in MEMORY_SETTINGS:  # only these: the rest may need an extension
                connection.execute(f"set {name} = {self.string_literal(str(value))}")
        # DuckDB's own progress bar for long queries, on a terminal only: in a CI log its
        # carriage returns are noise
        connection.execute(f"set enable_progress_bar = {str(sys.stderr.isatty()).lower()}")
        return connection

    def warehouse_file(self, target) -> Path:
        """The profile's ``path``, relative paths from the project folder."""
        return target.path(target.credentials.path)

    def exists(self, target) -> bool:
        return target.duckdb_path.exists()

    def prepare(self, target) -> None:
        target.duckdb_path.parent.mkdir(parents=True, exist_ok=True)

    def describe(self, target) -> str:
        return f"DuckDB at {target.duckdb_path}"

    def release_dbt(self) -> None:
        """Close the DuckDB file dbt-duckdb keeps open after a run.

        dbt-duckdb holds one connection per process for reuse; while it is open, this
        process cannot open the same file read-only (for a training set, a sync), and no
        other process can open it at all.
        """
        try:
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager
        except ImportError:  # the Snowflake-only install
            return
        with DuckDBConnectionManager._LOCK:
            environment = DuckDBConnectionManager._ENV
            DuckDBConnectionManager._ENV = None
            if environment is not None:
                environment.close()

    def execute(self, connection, sql: str, params):
        return connection.execute(sql, params or [])

    def relation(self, connection, sql: str, params):
        return connection.sql(sql, params=params or None)

    def fetch_arrow(self, connection, sql: str, params):
        return self.relation(connection, sql, params).to_arrow_table()

    def stream_batches(self, connection, sql: str, params, batch_size: int):
        yield from self.relation(connection, sql, params).to_arrow_reader(batch_size)

    def is_driver_error(self, exc: BaseException) -> bool:
        return type(exc).__module__.startswith(("duckdb", "_duckdb"))

    def store_schema(self, connection, schema: str) -> str:
        # DuckDB names the catalog after the file: in featurestore.duckdb a bare
        # `featurestore.x` is ambiguous (catalog or schema), so qualify it with the catalog.
        # fetchall, not fetchone: DuckDB 2 keeps a half-read result open, and refuses the
        # relation API (fetch_arrow, stream_batches) on the connection until it is done
        (catalog,) = connection.execute("select current_database()").fetchall()[0]
        return f"{quote(catalog)}.{schema}"

    def fingerprint_sql(self, relation: str, columns: list[str]) -> str:
        # https://duckdb.org/docs/stable/sql/functions/utility#hashvalue: a 64-bit hash of
        # the row (nulls included); their sum is a HUGEINT, so it never overflows
        return (f"select count(*), cast(coalesce(sum(hash({', '.join(columns)})), 0) as "
                f"varchar) from {relation}")

    @contextlib.contextmanager
    def join_memory(self, warehouse, limit: str | None) -> Iterator[None]:
        """The join's memory: capped by FEATURESTORE_DUCKDB_MEMORY_LIMIT (e.g. ``1GB``), past
        which it spills to a temporary folder (without it, DuckDB takes 80% of RAM: right
        for a dedicated box, wrong on a laptop next to a notebook), the pages the join
        frees then handed back to the OS as it goes (JOIN_FLUSH_THRESHOLD), the instance's
        own threshold restored after (another connection in this process may share it;
        the cap and the spill folder are left as the join set them)."""
        if not limit:
            yield
            return
        (before,) = warehouse.fetch_all(f"select current_setting('{_FLUSH_SETTING}')")[0]
        warehouse.execute(f"set {_FLUSH_SETTING} = "
                          f"{self.string_literal(JOIN_FLUSH_THRESHOLD)}").fetchall()
        try:
            with tempfile.TemporaryDirectory(prefix="featurestore-spill-") as spill:
                warehouse.execute(f"set memory_limit = {self.string_literal(limit)}").fetchall()
                warehouse.execute(
                    f"set temp_directory = {self.string_literal(spill)}").fetchall()
                yield
        finally:
            warehouse.execute(f"set {_FLUSH_SETTING} = {self.string_literal(before)}").fetchall()

    def load_arrow(self, warehouse, table, name: str) -> str:
        warehouse.connection.register(name, table)
        return quote(name)

    def drop_arrow(self, warehouse, name: str) -> None:
        warehouse.connection.unregister(name)

    def file_relation(self, path: Path) -> str | None:
        if reads_as_pattern(path):
            return None
        reader = self.file_readers[self.spine_format(path)]
        return f"{reader}({self.string_literal(str(path))})"

    def shard_of(self, columns: list[str], shards: int) -> str:
        # https://duckdb.org/docs/stable/sql/functions/utility#hashvalue: an unsigned
        # 64-bit hash of its arguments, nulls included
        return f"hash({', '.join(columns)}) % {int(shards)}"

    shards_as_files = True  # a DuckDB file admits one writing process

    def export_shards(self, warehouse, sql: str, directory: Path, column: str) -> None:
        # https://duckdb.org/docs/stable/data/partitioning/partitioned_writes: one pass,
        # a folder per shard, DuckDB's own threads; no row reaches Python
        target = self.string_literal(str(directory))
        warehouse.execute(f"copy ({sql}) to {target} (format parquet, partition_by "
                          f"({quote(column)}), overwrite_or_ignore)").fetchall()

    def export_parquet(self, warehouse, sql: str, path: Path, names: list[str],
                       batch_size: int = 0) -> None:
        target = self.string_literal(str(path))
        warehouse.execute(f"copy ({sql}) to {target} (format parquet, row_group_size "
                          f"{TRAINING_ROW_GROUP_ROWS})").fetchall()
