"""The rolling-window body rendered for Spark by featurestore/sql_render.py (as
tests/offline/rolling_support.py does for DuckDB), with dbt's dispatch for Spark."""

from __future__ import annotations

from collections.abc import Iterable

from featurestore.sql_render import render_rolling_windows


def render_rolling(relation: str, partition_by: list[str], event_ts: str,
                   aggregates: list[dict], loaded_at: str | None = None,
                   last_values: Iterable[dict] = (), previous: str | None = None,
                   allowed_lateness: str | None = None, too_late: str = "skip",
                   partitions: int = 1) -> str:
    """The SQL ``spark__rolling_windows`` gives for these arguments (once per bucket of
    entities with ``partitions`` > 1)."""
    return render_rolling_windows(
        "spark", relation, partition_by, event_ts, aggregates, loaded_at=loaded_at,
        last_values=last_values, previous=previous, allowed_lateness=allowed_lateness,
        too_late=too_late, partitions=partitions)
