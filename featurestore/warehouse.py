"""Access to the warehouse: DuckDB (embedded default) and Snowflake.

Everything in featurestore that reads feature rows or keeps its own tables goes through
``Warehouse``, so that the Snowflake path is the same code with a different connection,
and so that reads stream as Arrow batches instead of loading whole tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from featurestore.errors import WarehouseError
from featurestore.project import STORE_SCHEMA, Project

if TYPE_CHECKING:
    import pyarrow as pa


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class Warehouse:
    """One connection to the project's warehouse for the target in force."""

    def __init__(self, project: Project, *, read_only: bool = False):
        self.project = project
        self.dialect = "snowflake" if project.target == "snowflake" else "duckdb"
        self.read_only = read_only
        self._connection = None

    # -- connection ----------------------------------------------------------------------
    @property
    def connection(self):
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _connect(self):
        if self.dialect == "snowflake":
            from featurestore.snowflake import connect_snowflake

            return connect_snowflake()
        import duckdb

        path = self.project.duckdb_path
        if self.read_only and not path.exists():
            raise WarehouseError(
                f"{path}: no warehouse yet. Build it first: `featurestore build` "
                "(or `featurestore demo` for the demo data)."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return duckdb.connect(str(path), read_only=self.read_only)
        except duckdb.IOException as exc:
            raise WarehouseError(
                f"{path}: cannot open the DuckDB warehouse ({exc}). Another process (a dbt "
                "run, a sync) may hold it; wait for it to finish."
            ) from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- queries -------------------------------------------------------------------------
    def execute(self, sql: str, params: list | tuple | None = None):
        try:
            if self.dialect == "duckdb":
                return self.connection.execute(sql, params or [])
            cursor = self.connection.cursor()
            cursor.execute(sql, params or None)
            return cursor
        except Exception as exc:  # the drivers' errors have no common base
            if type(exc).__module__.startswith(("duckdb", "_duckdb", "snowflake")):
                raise WarehouseError(f"the warehouse refused a query: {exc}") from exc
            raise

    def fetch_all(self, sql: str, params: list | tuple | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def fetch_arrow(self, sql: str, params: list | tuple | None = None) -> pa.Table:
        if self.dialect == "duckdb":
            return self._duckdb_relation(sql, params).to_arrow_table()
        return self.execute(sql, params).fetch_arrow_all()

    def stream_batches(
        self, sql: str, params: list | tuple | None = None, batch_size: int = 50_000
    ) -> Iterator[pa.RecordBatch]:
        """Arrow record batches of at most ``batch_size`` rows, never the whole result."""
        if self.dialect == "duckdb":
            yield from self._duckdb_relation(sql, params).to_arrow_reader(batch_size)
            return
        cursor = self.execute(sql, params)
        if not hasattr(cursor, "fetch_arrow_batches"):
            # fakesnow (the tests' stand-in) has result batches that only give pandas
            import pyarrow as pa

            for result_batch in cursor.get_result_batches() or []:
                table = pa.Table.from_pandas(result_batch.to_pandas(), preserve_index=False)
                yield from table.to_batches(max_chunksize=batch_size)
            return
        for table in cursor.fetch_arrow_batches():
            yield from table.to_batches(max_chunksize=batch_size)

    def _duckdb_relation(self, sql: str, params):
        try:
            return self.connection.sql(sql, params=params or None)
        except Exception as exc:
            raise WarehouseError(f"the warehouse refused a query: {exc}") from exc

    @contextlib.contextmanager
    def transaction(self):
        """All or nothing: a failure leaves no half-written table behind."""
        self.execute("begin transaction")
        try:
            yield self
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")

    # -- relations -----------------------------------------------------------------------
    def model_relation(self, model: str) -> str:
        """The fully qualified relation a dbt model was built into."""
        node = self.project.model_node(model)
        if node and node.get("relation_name"):
            return node["relation_name"]
        return f"{quote(self.default_schema())}.{quote(model)}"

    def default_schema(self) -> str:
        if self.dialect == "snowflake":
            import os

            return os.environ.get("SNOWFLAKE_SCHEMA", "FEATURESTORE")
        return "main"

    def columns(self, relation: str) -> dict[str, str]:
        """Column name -> warehouse type of ``relation``; WarehouseError if it is missing."""
        try:
            cursor = self.execute(f"select * from {relation} limit 0")
        except WarehouseError:
            raise WarehouseError(
                f"relation {relation} does not exist in the warehouse. Build it: "
                "`featurestore build`."
            ) from None
        if self.dialect == "duckdb":
            return {d[0]: str(d[1]) for d in cursor.description}
        from featurestore.snowflake import describe_types

        return describe_types(cursor)

    def store_table(self, name: str) -> str:
        """A table featurestore keeps for itself (registry, sync_state, gate_results)."""
        return f"{self._store_schema()}.{name}"

    def ensure_store_schema(self) -> None:
        self.execute(f"create schema if not exists {self._store_schema()}")

    def _store_schema(self) -> str:
        # DuckDB names the catalog after the file: in featurestore.duckdb a bare
        # `featurestore.x` is ambiguous (catalog or schema), so qualify it with the catalog.
        if self.dialect == "duckdb":
            (catalog,) = self.connection.execute("select current_database()").fetchone()
            return f"{quote(catalog)}.{STORE_SCHEMA}"
        return STORE_SCHEMA
