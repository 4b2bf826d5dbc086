"""One object per warehouse featurestore runs on; ``for_target`` picks it."""

from __future__ import annotations

from featurestore.dialects.base import Dialect, quote
from featurestore.errors import ProjectError

__all__ = ["Dialect", "for_target", "quote"]


def for_target(target: str) -> Dialect:
    """The dialect of a dbt target type (``duckdb``, ``snowflake`` or ``spark``)."""
    if target == "duckdb":
        from featurestore.dialects.duckdb import DuckDB

        return DuckDB()
    if target == "snowflake":
        from featurestore.dialects.snowflake import Snowflake

        return Snowflake()
    if target == "spark":
        from featurestore.dialects.spark import Spark

        return Spark()
    raise ProjectError(
        f"no warehouse dialect for target {target!r}; use duckdb, snowflake or spark.")
