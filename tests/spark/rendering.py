"""The macro bodies rendered for Spark with plain Jinja (as tests/offline/rolling_support.py
does for DuckDB), with the Spark helpers the shared bodies dispatch to."""

from __future__ import annotations

from collections.abc import Iterable

from tests.offline.rolling_support import macro_module

MACRO_FILES = ("featurestore_helpers.sql", "rolling_windows.sql",
               "spark/featurestore_spark_helpers.sql", "spark/featurestore_spark_rolling.sql")


def render_rolling(relation: str, partition_by: list[str], event_ts: str,
                   aggregates: list[dict], loaded_at: str | None = None,
                   last_values: Iterable[dict] = (), previous: str | None = None,
                   allowed_lateness: str | None = None, too_late: str = "skip") -> str:
    """The SQL ``spark__rolling_windows`` gives for these arguments."""
    module = macro_module(MACRO_FILES)
    spec: dict = {}
    module.featurestore_rolling_spec(spec, relation, partition_by, event_ts, aggregates,
                                     loaded_at, list(last_values), "feature_ts",
                                     previous or False, allowed_lateness, too_late, 12)
    return str(module.spark__rolling_windows(spec))
