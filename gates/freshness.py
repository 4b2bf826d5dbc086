"""Freshness: how far the newest ``feature_ts`` lags behind now (or ``--as-of``).

Only rows at or before the reference time count, so a gate replayed ``--as-of`` a past
moment sees the view as it stood then. One ``max()`` in the warehouse: cheap at any size.
A timezone-aware ``feature_ts`` column is compared as naive UTC (its instant), so the
result never depends on the session's time zone.
"""

from __future__ import annotations

import datetime as dt

from featurestore.contracts import FeatureView
from featurestore.dtypes import sql_literal, utc_naive
from featurestore.gates.quality import resolve_columns


def utc_column(warehouse, relation: str, column: str, quoted: str) -> str:
    """SQL reading a timestamp column as naive UTC: a timezone-aware one converted by the
    dialect, so comparisons with naive UTC literals hold whatever the session's zone."""
    types = {name.lower(): kind for name, kind in warehouse.columns(relation).items()}
    kind = types.get(column.lower())
    if kind is not None and warehouse.dialect.is_tz_type(kind):
        return warehouse.dialect.utc_naive(quoted)
    return quoted


def freshness_metrics(warehouse, view: FeatureView, as_of: dt.datetime | None = None) -> dict:
    relation = warehouse.view_relation(view)
    columns = resolve_columns(warehouse, relation, [view.timestamp])
    reference = utc_naive(as_of)
    if view.timestamp not in columns:
        return {"freshness_lag_seconds": None}
    ts = utc_column(warehouse, relation, view.timestamp, columns[view.timestamp])
    (newest,) = warehouse.fetch_all(
        f"select max({ts}) from {relation} where {ts} <= {sql_literal('timestamp', reference)}"
    )[0]
    if newest is None:
        return {"freshness_lag_seconds": None}
    newest = utc_naive(newest)
    return {"freshness_lag_seconds": (reference - newest).total_seconds()}
