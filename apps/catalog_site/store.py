"""What the store keeps in the warehouse, read once for the whole catalog.

A handful of queries for every view at once (never one per view per table), so that 200
views with a year of daily gate results cost the warehouse a few scans:

- the registry's history (``featurestore.feature_registry``);
- the sync's state per view version (``featurestore.sync_state``);
- the gate results, as time series aggregated in SQL into at most ``MAX_POINTS`` time
  buckets (each point the worst value of its bucket, and how many runs failed in it), and
  every expectation of the latest run of each (view, suite);
- the loop's recent cycles (``featurestore.loop_cycles``);
- the version log's events (``featurestore.feature_versions``: backfill, promote,
  rollback, retire);
- per view, its relation's rows, entities, newest ``feature_ts`` and column types.

A table that does not exist yet (no ``apply``, no gate run, no sync) is not an error: the
catalog says so on the pages that would show it. The warehouse is opened read-only.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

from featurestore.contracts import FeatureView
from featurestore.errors import WarehouseError, WarehouseUnreachable

MAX_POINTS = 60  # per time series: a point per 10 px of a plot (6 days in a year)
LOOP_CYCLES = 200
# the expectations the catalog draws over time; the others are shown from the latest run
SERIES_FILTER = ("suite = 'freshness' or expectation like 'null_rate(%' "
                 "or expectation like 'psi(%'")


@dataclass
class GatePoint:
    at: dt.datetime  # the bucket's last run
    worst: float | None  # the highest observed value in the bucket
    runs: int
    failures: int


_EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class GateSeries:
    """One expectation of one view over time, a point per time bucket, oldest first, kept
    as plain columns: a year of daily results for 200 views x 41 expectations is 750,000
    points, made into ``GatePoint`` objects only for the series a page draws."""

    at: list[float]  # epoch seconds (UTC) of each bucket's last run
    worst: list[float | None]
    runs: list[int]
    failures: list[int]

    def points(self) -> list[GatePoint]:
        return [GatePoint(_EPOCH + dt.timedelta(seconds=at), worst, runs, failures)
                for at, worst, runs, failures in zip(self.at, self.worst, self.runs,
                                                     self.failures, strict=True)]


@dataclass
class LatestCheck:
    suite: str
    run_id: str
    run_at: dt.datetime
    expectation: str
    observed: str
    threshold: str
    passed: bool | None  # None: insufficient data (gates/results.py), not a failure
    observed_value: float | None = None


@dataclass
class ViewRecords:
    """Everything the warehouse holds about one view."""

    registry: list[dict] = field(default_factory=list)  # oldest first
    sync: list[dict] = field(default_factory=list)  # one per version and store
    series: dict[str, GateSeries] = field(default_factory=dict)  # expectation -> points
    latest: dict[str, list[LatestCheck]] = field(default_factory=dict)  # suite -> checks
    gate_runs: int = 0
    first_gate: dt.datetime | None = None
    last_gate: dt.datetime | None = None
    cycles: list[dict] = field(default_factory=list)  # newest first
    version_events: list = field(default_factory=list)  # version_log.VersionEvent, oldest first
    served_version: int | None = None  # chosen by the last promote or rollback, if any
    relation: str | None = None
    built: bool = False
    rows: int | None = None
    entities: int | None = None
    newest_feature_ts: dt.datetime | None = None
    column_types: dict[str, str] = field(default_factory=dict)


@dataclass
class StoreRecords:
    views: dict[str, ViewRecords]
    tables: dict[str, bool]  # which of the store's tables exist
    # the registry's rows of the other names (on-demand views), oldest first
    other_registry: dict[str, list[dict]] = field(default_factory=dict)
    bucket_seconds: int | None = None
    notes: list[str] = field(default_factory=list)


def read_store(project, views: list[FeatureView], progress=lambda line: None) -> StoreRecords:
    """The store's records of ``views``; empty records (and a note) without a warehouse."""
    from featurestore.warehouse import Warehouse

    records = StoreRecords({view.name: ViewRecords() for view in views}, {})
    if not Warehouse.exists(project):
        records.notes.append(
            f"no warehouse at {project.dbt_target.describe()}: versions, gate results, sync "
            "state and warehouse statistics are left out. Build it: `featurestore build`.")
        return records
    with Warehouse(project, read_only=True) as warehouse:
        _registry(warehouse, records)
        _sync_state(warehouse, records)
        _gates(warehouse, records)
        _loop(warehouse, records)
        _version_events(warehouse, records)
        progress("catalog: read the registry, sync state, gate results, loop cycles and "
                 "version events")
        for view in views:
            _relation(warehouse, view, records.views[view.name])
    missing = [name for name, present in records.tables.items() if not present]
    if missing:
        records.notes.append(
            "not in the warehouse yet: " + ", ".join(f"featurestore.{t}" for t in missing)
            + " (created by `featurestore apply`, `sync`, `gate` and `run`); their sections "
            "say so on each page.")
    return records


def _fetch(warehouse, records: StoreRecords, table: str, sql_of) -> list[tuple] | None:
    """Rows of ``sql_of(qualified table)``; None (and the table marked missing) when the
    table does not exist. An unreachable warehouse is an error, not a missing table."""
    qualified = warehouse.store_table(table)
    try:
        rows = warehouse.fetch_all(sql_of(qualified))
    except WarehouseUnreachable:
        raise
    except WarehouseError:
        records.tables[table] = False
        return None
    records.tables[table] = True
    return rows


def _registry(warehouse, records: StoreRecords) -> None:
    from featurestore.registry import TABLE

    rows = _fetch(warehouse, records, TABLE, lambda t: (
        "select view_name, version, change, contract_hash, applied_by, applied_at "
        f"from {t} order by view_name, applied_at, version"))
    for name, version, change, digest, who, when in rows or []:
        row = {"version": version, "change": change, "contract_hash": digest,
               "applied_by": who, "applied_at": when}
        if name in records.views:
            records.views[name].registry.append(row)
        else:
            records.other_registry.setdefault(name, []).append(row)


def _sync_state(warehouse, records: StoreRecords) -> None:
    from featurestore.sync.state import TABLE

    columns = ("view_name", "view_version", "online_store", "watermark", "last_as_of",
               "status", "started_at", "finished_at", "rows_read", "rows_written",
               "rows_skipped", "message")
    rows = _fetch(warehouse, records, TABLE, lambda t: (
        f"select {', '.join(columns)} from {t} order by view_name, view_version, "
        "finished_at"))
    for row in rows or []:
        entry = dict(zip(columns, row, strict=True))
        if entry["view_name"] in records.views:
            records.views[entry["view_name"]].sync.append(entry)


def _gates(warehouse, records: StoreRecords) -> None:
    from featurestore.gates.results import TABLE

    span = _fetch(warehouse, records, TABLE,
                  lambda t: f"select min(run_at), max(run_at) from {t}")
    if not span or span[0][0] is None:
        return
    first, last = span[0]
    bucket = max(1, math.ceil((last - first).total_seconds() / MAX_POINTS))
    records.bucket_seconds = bucket
    table = warehouse.store_table(TABLE)
    epoch = "datediff('second', timestamp '1970-01-01 00:00:00', run_at)"
    points = warehouse.fetch_arrow(
        f"select view, expectation, floor({epoch} / {bucket}) as bucket, max({epoch}) as at, "
        "max(observed_value) as worst, cast(count(*) as bigint) as runs, "
        # a null `passed` is "insufficient data": no failure (and not int128)
        "cast(sum(case when passed = false then 1 else 0 end) as bigint) as failures "
        f"from {table} where {SERIES_FILTER} group by view, expectation, bucket "
        "order by view, expectation, bucket")
    for view, expectation, series in _split_series(points):
        found = records.views.get(view)
        if found is not None:
            found.series[expectation] = series
    latest = warehouse.fetch_all(
        "with latest as (select view, suite, max(run_at) as run_at from "
        f"{table} group by view, suite) "
        "select t.view, t.suite, t.run_id, t.run_at, t.expectation, t.observed, t.threshold, "
        f"t.passed, t.observed_value from {table} as t join latest as l on t.view = l.view "
        "and t.suite = l.suite and t.run_at = l.run_at order by t.view, t.suite, t.expectation")
    for view, suite, run_id, run_at, expectation, observed, threshold, passed, value in latest:
        found = records.views.get(view)
        if found is not None:
            found.latest.setdefault(suite, []).append(LatestCheck(
                suite, run_id, run_at, expectation, observed or "", threshold or "",
                None if passed is None else bool(passed), value))
    for view, runs, first_run, last_run in warehouse.fetch_all(
            f"select view, count(distinct run_id), min(run_at), max(run_at) from {table} "
            "group by view"):
        found = records.views.get(view)
        if found is not None:
            found.gate_runs, found.first_gate, found.last_gate = int(runs), first_run, last_run


def _split_series(points) -> list[tuple[str, str, GateSeries]]:
    """(view, expectation, series) from the bucketed rows (an Arrow table ordered by view,
    expectation and bucket), cut where the pair changes: columns are sliced, never walked
    row by row in Python."""
    import numpy as np
    import pyarrow.compute as pc

    if points.num_rows == 0:
        return []
    views = points.column("view").combine_chunks()
    expectations = points.column("expectation").combine_chunks()
    pair = pc.binary_join_element_wise(views, expectations, "\x1f")
    codes = pc.dictionary_encode(pair).indices.to_numpy(zero_copy_only=False)
    starts = [0, *(np.flatnonzero(np.diff(codes)) + 1).tolist()]
    ends = [*starts[1:], points.num_rows]
    at = points.column("at").to_numpy().astype("float64").tolist()
    worst = points.column("worst").to_pylist()
    runs = points.column("runs").to_numpy().astype("int64").tolist()
    failures = points.column("failures").to_numpy().astype("int64").tolist()
    return [(views[start].as_py(), expectations[start].as_py(),
             GateSeries(at[start:end], worst[start:end], runs[start:end],
                        failures[start:end]))
            for start, end in zip(starts, ends, strict=True)]


def _loop(warehouse, records: StoreRecords) -> None:
    from featurestore.apps.loop import TABLE

    rows = _fetch(warehouse, records, TABLE, lambda t: (
        "select cycle_id, started_at, finished_at, status, rows_changed, items_written, "
        f"freshness_lag, refused from {t} order by started_at desc limit {LOOP_CYCLES}"))
    for cycle_id, started, finished, status, changed, items, lags, refused in rows or []:
        changed, lags, refused = (_json_object(changed), _json_object(lags),
                                  _json_object(refused))
        for name, found in records.views.items():
            if name in changed or name in lags or name in refused:
                found.cycles.append({
                    "cycle_id": cycle_id, "started_at": started, "finished_at": finished,
                    "status": status, "rows_changed": changed.get(name),
                    "items_written": items, "freshness_lag": lags.get(name),
                    "refused": refused.get(name) or []})


def _version_events(warehouse, records: StoreRecords) -> None:
    """Backfills, promotions, rollbacks and retirements (featurestore/version_log.py),
    read through its own reader: none when nothing was ever promoted."""
    from featurestore.version_log import SERVING_ACTIONS, events

    for event in events(warehouse):
        found = records.views.get(event.view_name)
        if found is not None:
            found.version_events.append(event)
            if event.action in SERVING_ACTIONS:
                found.served_version = event.version


def _json_object(text: str | None) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _relation(warehouse, view: FeatureView, found: ViewRecords) -> None:
    """Rows, entities, newest feature_ts and column types of the view's relation."""
    relation = warehouse.model_relation(view.source)
    found.relation = relation
    try:
        found.column_types = {name.lower(): kind
                              for name, kind in warehouse.columns(relation).items()}
    except WarehouseUnreachable:
        raise
    except WarehouseError:
        return
    keys = [k for k in view.keys if k.lower() in found.column_types]
    ts = view.timestamp if view.timestamp.lower() in found.column_types else None
    if len(keys) != len(view.keys) or ts is None:
        found.built = True
        return
    listed = ", ".join(warehouse.column(k) for k in keys)
    rows, entities, newest = warehouse.fetch_all(
        f"select count(*), count(distinct ({listed})), max({warehouse.column(ts)}) "
        f"from {relation}")[0]
    found.built, found.rows, found.entities, found.newest_feature_ts = (
        True, int(rows), int(entities), newest)
