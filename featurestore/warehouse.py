"""Access to the warehouse of the target in force: one connection, one dialect object.

The target is the dbt profile's, as dbt resolves it (``Project.dbt_target``), so the
file, account or catalog featurestore reads is the one dbt built.

Everything in featurestore that reads feature rows or keeps its own tables goes through
``Warehouse``, so that the Snowflake path is the same code with another dialect
(featurestore/dialects/), and so that reads stream as Arrow batches instead of loading
whole tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from featurestore.dialects import Dialect, quote
from featurestore.errors import WarehouseError, WarehouseUnreachable
from featurestore.project import STORE_SCHEMA, Project

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Warehouse", "quote"]


class Warehouse:
    """One connection to the project's warehouse for the target in force."""

    def __init__(self, project: Project, *, read_only: bool = False):
        self.project = project
        self.settings = project.settings
        self.target = project.dbt_target
        self.dialect: Dialect = self.target.dialect
        self.read_only = read_only
        self._connection = None

    @classmethod
    def exists(cls, project: Project) -> bool:
        """Whether the project's warehouse is there to read (a DuckDB file may not be)."""
        target = project.dbt_target
        return target.dialect.exists(target)

    # -- connection ----------------------------------------------------------------------
    @property
    def connection(self):
        if self._connection is None:
            self._connection = self.dialect.connect(self.target, self.read_only)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- queries -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _refusals(self) -> Iterator[None]:
        """The drivers' errors have no common base: each dialect names its own."""
        try:
            yield
        except Exception as exc:
            if self.dialect.is_driver_error(exc):
                raise WarehouseError(f"the warehouse refused a query: {exc}") from exc
            raise

    def execute(self, sql: str, params: list | tuple | None = None):
        with self._refusals():
            return self.dialect.execute(self.connection, sql, params)

    def fetch_all(self, sql: str, params: list | tuple | None = None) -> list[tuple]:
        with self._refusals():
            return self.execute(sql, params).fetchall()

    def fetch_arrow(self, sql: str, params: list | tuple | None = None) -> pa.Table:
        with self._refusals():
            return self.dialect.fetch_arrow(self.connection, sql, params)

    def stream_batches(
        self, sql: str, params: list | tuple | None = None, batch_size: int = 50_000
    ) -> Iterator[pa.RecordBatch]:
        """Arrow record batches of at most ``batch_size`` rows, never the whole result."""
        with self._refusals():
            yield from self.dialect.stream_batches(self.connection, sql, params, batch_size)

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
    def model_relation(self, model: str, version: int | None = None,
                       alias: str | None = None) -> str:
        """The fully qualified relation a dbt model (at dbt model ``version``) was built
        into; without a manifest, ``alias`` (default: the model's name) in the target."""
        node = self.project.model_node(model, version)
        if node and node.get("relation_name"):
            return node["relation_name"]
        # without a manifest: the model's unquoted name as dbt creates it in the target
        name = alias or model
        schema = self.dialect.alias(self.dialect.default_schema(self.target))
        return f"{schema}.{self.dialect.column(name)}"

    def view_relation(self, view) -> str:
        """The relation holding one version of a feature view (a ``FeatureView``)."""
        return self.model_relation(view.source, view.model_version, view.model_file)

    def columns(self, relation: str) -> dict[str, str]:
        """Column name -> warehouse type of ``relation``; WarehouseError if it is missing.

        A warehouse that cannot be opened (a DuckDB file another process holds, a refused
        Snowflake login) is WarehouseUnreachable, not a missing relation: it is raised as
        it is.
        """
        try:
            cursor = self.execute(f"select * from {relation} limit 0")
        except WarehouseUnreachable:
            raise
        except WarehouseError:
            raise WarehouseError(
                f"relation {relation} does not exist in the warehouse. Build it: "
                "`featurestore build`."
            ) from None
        return self.dialect.result_types(cursor)

    def column(self, name: str) -> str:
        """A contract's column as the warehouse names it (quoted)."""
        return self.dialect.column(name)

    def store_table(self, name: str) -> str:
        """A table featurestore keeps for itself (registry, sync_state, gate_results)."""
        return f"{self._store_schema()}.{name}"

    def ensure_store_schema(self) -> None:
        self.execute(f"create schema if not exists {self._store_schema()}")

    def _store_schema(self) -> str:
        return self.dialect.store_schema(self.connection, STORE_SCHEMA)
