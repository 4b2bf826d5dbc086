"""Which warehouse rows a sync publishes: the latest visible row of every changed entity.

The watermark is on *when a row landed* (the contract's ``created_timestamp``, the demo
models' ``loaded_at``), never on event time: a late row with an old ``feature_ts`` that is
nevertheless the newest for its entity still lands after the watermark, so it is read and
published (Feast's incremental materialization misses these, feast-dev/feast#4133).

An incremental read also takes every entity with a row past the *data horizon* of the
last run (its ``max(feature_ts)``). A model can add rows there that carry an old landing
time: ``rolling_windows`` emits a window's exit row at ``event_ts + window`` once newer
events (of any entity) move the horizon past it, with the ``loaded_at`` of the events it
was computed from. Those rows are new to the online store though none of their inputs
landed since the watermark; without the horizon a count would stay at 3 online where the
warehouse says 0.

Rows already past the view's TTL at ``as_of`` are not read: the lookup would serve them
as EXPIRED (the default), whatever the item holds, and an item already stored for them
ages out through DynamoDB's TTL attribute.

One SQL statement, the same text on DuckDB and Snowflake (checked with sqlglot's Snowflake
dialect in the tests), streamed back in Arrow batches so memory stays flat whatever the
table size. Timestamps are rendered as literals, not bound, so the statement is the same
under every driver's parameter style.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from featurestore.contracts import FeatureView
from featurestore.dialects import Dialect
from featurestore.warehouse import Warehouse


@dataclass(frozen=True)
class ReadPlan:
    """What one run reads: everything (``watermark is None``) or the changed entities."""

    as_of: dt.datetime  # rows with feature_ts after this are not published yet
    watermark: dt.datetime | None  # read entities with a row landed after watermark - lookback
    previous_as_of: dt.datetime | None  # ... or a row that came due since the last run
    lookback: dt.timedelta = dt.timedelta(0)
    previous_horizon: dt.datetime | None = None  # ... or a row past the last run's horizon

    @property
    def full(self) -> bool:
        return self.watermark is None


ts_literal = Dialect.timestamp_literal


def latest_rows_sql(view: FeatureView, relation: str, plan: ReadPlan, dialect: Dialect) -> str:
    """The latest row per entity among rows with feature_ts <= as_of, for changed entities."""
    col = dialect.column

    names = [*view.keys, view.timestamp,
             *([view.created_timestamp] if view.created_timestamp else []), *view.feature_names]
    keys = [col(k) for k in view.keys]
    ts = col(view.timestamp)
    loaded = col(view.created_timestamp) if view.created_timestamp else None
    columns = [col(n) for n in names]
    order = f"{ts} desc" + (f", {loaded} desc" if loaded else "")
    unexpired = ""
    if view.ttl_seconds:
        oldest = plan.as_of - dt.timedelta(seconds=view.ttl_seconds)
        unexpired = f" and {ts} >= {ts_literal(oldest)}"
    lines = [
        "-- 1. rows visible now (a future-dated row is never published early) and not",
        "--    past the TTL (served as EXPIRED whatever is stored)",
        "with visible as (",
        f"    select {', '.join(columns)}",
        f"    from {relation}",
        f"    where {ts} <= {ts_literal(plan.as_of)}{unexpired}",
        "),",
    ]
    source = "visible"
    if not plan.full and loaded:
        since = ts_literal(plan.watermark - plan.lookback)
        due = (
            f" or {ts} > {ts_literal(plan.previous_as_of - plan.lookback)}"
            if plan.previous_as_of else ""
        )
        past = (f" or {ts} > {ts_literal(plan.previous_horizon)}"
                if plan.previous_horizon else "")
        match = " and ".join(f"v.{k} is not distinct from c.{k}" for k in keys)
        lines += [
            "-- 2. entities with a row landed since the watermark (minus the lookback),",
            "--    with a row whose feature_ts came due since the last run, or with a row",
            "--    past the last run's data horizon (window exits it revealed)",
            "changed as (",
            f"    select distinct {', '.join(keys)}",
            "    from visible",
            f"    where {loaded} > {since}{due}{past}",
            "),",
            "candidates as (",
            "    select v.*",
            "    from visible as v",
            f"    inner join changed as c on {match}",
            "),",
        ]
        source = "candidates"
    lines += [
        "-- 3. the newest row per entity; ties on feature_ts go to the row landed last",
        "latest as (",
        "    select *",
        f"    from {source}",
        f"    qualify row_number() over (partition by {', '.join(keys)} order by {order}) = 1",
        ")",
        "-- 4. the contract's names, whatever case the warehouse keeps them in",
        f"select {', '.join(f'{col(n)} as {dialect.alias(n)}' for n in names)}",
        "from latest",
    ]
    return "\n".join(lines)


def high_water_sql(view: FeatureView, relation: str, as_of: dt.datetime,
                   dialect: Dialect) -> str | None:
    """The next watermark, read *before* the rows so a load landing mid-run is re-read."""
    if not view.created_timestamp:
        return None
    return (
        f"select max({dialect.column(view.created_timestamp)}) from {relation} "
        f"where {dialect.column(view.timestamp)} <= {ts_literal(as_of)}"
    )


def horizon_sql(view: FeatureView, relation: str, as_of: dt.datetime,
                dialect: Dialect) -> str:
    """The data horizon a run publishes up to, ``max(feature_ts)`` of the visible rows;
    read before the rows, like the watermark, so a row added past it mid-run is re-read."""
    ts = dialect.column(view.timestamp)
    return f"select max({ts}) from {relation} where {ts} <= {ts_literal(as_of)}"


_EPOCH = dt.datetime(1970, 1, 1)


def _python_values(column) -> list:
    """A column's values as Python objects. pyarrow makes each naive microsecond timestamp
    a datetime at about 10 us a value (2 s of 200,000 rows here, per column); from its
    integer, the same naive datetime costs a tenth of that. Other types: ``to_pylist``."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_timestamp(kind) and kind.unit == "us" and kind.tz is None:
        epoch, micros = _EPOCH, dt.timedelta(microseconds=1)
        return [None if value is None else epoch + value * micros
                for value in column.cast(pa.int64()).to_pylist()]
    return column.to_pylist()


def batch_rows(batch) -> list[dict]:
    """An Arrow batch's rows as dicts of Python values, by column name."""
    names = batch.schema.names
    return [dict(zip(names, values, strict=True)) for values in zip(
        *(_python_values(column) for column in batch.columns), strict=True)]


def read_latest(warehouse: Warehouse, view: FeatureView, relation: str, plan: ReadPlan,
                batch_size: int = 5_000):
    """Lists of row dicts of ``batch_size`` rows (the last one shorter).

    The drivers hand back Arrow batches of whatever size their execution produced (DuckDB
    may yield a few rows at a time); the worker validates a whole batch before writing any
    of it, so batches are regrouped here to a predictable size.
    """
    sql = latest_rows_sql(view, relation, plan, warehouse.dialect)
    yield from regroup(warehouse.stream_batches(sql, batch_size=batch_size), batch_size)


def regroup(batches, batch_size: int):
    """Arrow batches of any size as lists of exactly ``batch_size`` row dicts (the last
    one shorter)."""
    pending: list[dict] = []
    for batch in batches:
        pending.extend(batch_rows(batch))
        while len(pending) >= batch_size:
            yield pending[:batch_size]
            pending = pending[batch_size:]
    if pending:
        yield pending
