"""One sync run of one view version: read the changed entities, write, then move the mark.

The order is the crash-safety argument: (0) a table without the view's serving pointer
gets the registry's (``sync/pointer.py``), so no item is written where a lookup would
serve a version the registry retired, (1) the next watermark is read before the rows,
(2) every row is encoded and validated a whole Arrow batch at a time before any of that
batch is sent, (3) the writes go out in parallel and conditionally, (4) only when DynamoDB
has acknowledged all of them does the table's sync marker move, then ``sync_state``, in
one warehouse transaction. A kill at any point before (4) leaves the old watermark, and
the next run re-reads and re-writes the same rows, which the ``feature_ts <= :ts``
condition accepts or skips.

A run that can meet stored values (every run but a first load) reads the stored items of
each batch first (BatchGetItem, 100 keys, in the writer threads) and writes only those
that differ (``online/compare.py``), conditionally as ever; rows past the view's TTL are
not read at all (``reader.py``). So ``--full-refresh`` is a verify-and-repair pass: it
reads everything, writes the differences and counts them (``differed``).

An incremental run trusts the state only as far as the table confirms it: the state is
the store's own (keyed by ``online_store``), and the table's sync marker must be at least
at the state's watermark, else the run is a full load (``sync/state.py``).

A failure of any kind ends the run the same way: the writers stop and are joined, the
first-load lease is released (best effort), ``sync_state`` records ``failed`` with the
error, and the error is raised once, naming the view. A bad value stops its view after the
batches already sent: whole batches are checked before any of them is written, not whole
runs (each item written is a whole, correct latest value; the watermark stays).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from featurestore.contracts import FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import (
    BadValueError,
    OnlineStoreError,
    StoreUnavailable,
    WarehouseError,
)
from featurestore.model_check import require_columns
from featurestore.online.items import encode_item, view_sk
from featurestore.online.store import OnlineStore
from featurestore.online.writer import Counters
from featurestore.sync import shard_sources
from featurestore.sync import state as sync_state
from featurestore.sync.executor_writes import write_on_executors
from featurestore.sync.first_load import DEFAULT_LEASE_SECONDS, FirstLoadClaim, new_owner
from featurestore.sync.pointer import ensure_pointer
from featurestore.sync.reader import (
    ReadPlan,
    high_water_sql,
    horizon_sql,
    latest_rows_sql,
    read_latest,
)
from featurestore.sync.shard_workers import SHARDS_PER_WORKER, run_shards
from featurestore.warehouse import Warehouse


@dataclass
class SyncOptions:
    full_refresh: bool = False
    lookback: dt.timedelta = dt.timedelta(minutes=10)
    as_of: dt.datetime | None = None  # default: now (UTC)
    threads: int = 8
    batch_size: int = 5_000
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    allow_first_load: bool = True  # BatchWriteItem for a never-written view version
    workers: int = 1  # > 1: the rows in key-hash shards, written by this many processes


@dataclass
class SyncResult:
    view: str
    version: int
    mode: str  # "first load (BatchWriteItem)" or "conditional (TransactWriteItems)"
    full: bool
    rows_read: int
    written: int
    skipped: int
    retried: int
    seconds: float
    watermark: dt.datetime | None
    reason: str = ""  # why a full load: no state for this store, no marker in the table...
    unchanged: int = 0  # rows the stored item already held exactly: not written

    def to_dict(self) -> dict:
        """What ``featurestore sync --json`` prints per view."""
        return {"view": self.view, "version": self.version, "mode": self.mode,
                "full": self.full, "reason": self.reason, "rows_read": self.rows_read,
                "written": self.written, "skipped": self.skipped, "retried": self.retried,
                "unchanged": self.unchanged, "differed": self.differed,
                "seconds": round(self.seconds, 3), "watermark": self.watermark}

    @property
    def differed(self) -> int:
        """Rows whose stored item did not hold them: written, or skipped as not newer."""
        return self.written + self.skipped

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        writes = f"written {self.written:,}, skipped as not newer {self.skipped:,}"
        if self.mode.startswith("conditional"):  # the stored items were read and compared
            writes = (f"unchanged {self.unchanged:,}, differed {self.differed:,} ({writes})")
        return (f"{self.view} v{self.version}: read {self.rows_read:,}, {writes}, retried "
                f"{self.retried:,} in {self.seconds:.1f} s ({self.rows_per_second:,.0f} "
                f"rows/s; {'full' if self.full else 'incremental'}, {self.mode})"
                + (f"; full because {self.reason}" if self.reason else ""))


def full_load_reason(previous: sync_state.SyncState, view: FeatureView,
                     options: SyncOptions) -> str:
    """Why this run cannot be incremental, as far as the warehouse tells ("" if it can)."""
    if options.full_refresh:
        return "--full-refresh"
    if view.created_timestamp is None:
        return "the contract names no created_timestamp to keep a watermark on"
    if previous.watermark is None:
        return "no earlier run into this store"
    return ""


def no_horizon_reason(previous: sync_state.SyncState) -> str:
    """Why a state whose last run kept no data horizon (an older featurestore) cannot
    start an incremental run: the rows past that run's horizon are unknown."""
    if previous.horizon is None:
        return ("the state records no data horizon (its last run predates it), so rows "
                "past that run's horizon cannot be told apart")
    return ""


@dataclass
class _Plan:
    """What a run reads, decided before it writes anything."""

    reason: str  # why a full load ("" when incremental)
    read: ReadPlan
    high_water: dt.datetime | None  # the next watermark, read before the rows
    horizon: dt.datetime | None  # max(feature_ts) of the rows it may publish


def _plan(warehouse: Warehouse, view: FeatureView, relation: str, previous, claimed,
          synced, options: SyncOptions, as_of: dt.datetime, on_plan) -> _Plan:
    """Full or incremental, the read plan, and the watermark and horizon to record."""
    reason = (full_load_reason(previous, view, options)
              or sync_state.missing_from_table(synced, previous)
              or no_horizon_reason(previous))
    plan = ReadPlan(as_of=as_of, watermark=None if reason else previous.watermark,
                    previous_as_of=None if reason else previous.last_as_of,
                    lookback=options.lookback,
                    previous_horizon=None if reason else previous.horizon)
    high_water_query = high_water_sql(view, relation, as_of, warehouse.dialect)
    high_water = warehouse.fetch_all(high_water_query)[0][0] if high_water_query else None
    horizon = warehouse.fetch_all(horizon_sql(view, relation, as_of, warehouse.dialect))[0][0]
    if on_plan is not None:
        plan_sql = latest_rows_sql(view, relation, plan, warehouse.dialect)
        on_plan(warehouse.fetch_all(f"select count(*) from ({plan_sql}) as rows_to_sync")[0][0])
    return _Plan(reason, plan, high_water, horizon)


def sync_view(warehouse: Warehouse, store: OnlineStore, view: FeatureView,
              options: SyncOptions | None = None,
              progress: Callable[[int, Counters], None] | None = None,
              on_plan: Callable[[int], None] | None = None, *,
              store_id: str | None = None) -> SyncResult:
    """Publish one view version; raises (watermark unchanged) if any write is not settled.

    ``store_id`` is the table's ``store.store_id()``; without it, it is asked here.
    """
    options = options or SyncOptions()
    as_of = options.as_of or utc_naive()
    relation = warehouse.view_relation(view)
    require_columns(warehouse, view, relation)
    store_id = store_id or store.store_id()
    previous = sync_state.load(warehouse, view.name, view.version, store_id)
    shard_sources.drop_leftover(warehouse, previous)
    running = sync_state.SyncState(**{**previous.__dict__, "run_id": uuid.uuid4().hex[:12],
                                      "status": "running", "started_at": utc_naive(),
                                      "message": ""})
    sync_state.save(warehouse, running)
    sk = view_sk(view)
    claim = FirstLoadClaim(store, sk, new_owner(), options.lease_seconds)
    writer = store.writer(threads=options.threads)
    read = [0]  # rows handed to the writers so far, also when the run fails

    def tally(rows: int, counters: Counters) -> None:
        read[0] += rows
        if progress is not None:
            progress(rows, counters)

    try:
        with store.errors():
            # a table without this view's serving pointer gets the registry's first, so
            # a lookup there never serves a version the registry retired (sync/pointer.py)
            ensure_pointer(warehouse, store, view.name)
            claimed, synced = sync_state.read_markers(store, sk)
            plan = _plan(warehouse, view, relation, previous, claimed, synced, options, as_of,
                         on_plan)
            started = time.perf_counter()
            claim.acquire(allow_unconditional=options.allow_first_load
                          and not on_executors(warehouse, options), marker=claimed)
            rows_read, counters = _write(warehouse, store, view, relation, plan, options,
                                         writer, claim.unconditional, running.run_id, tally)
            writer.close()
            claim.release(completed=True)
            done = _done(running, previous, plan, store_id, rows_read, counters)
            if rows_read or plan.reason or done.watermark != previous.watermark:
                # (a run that found nothing new leaves the marker that confirmed it)
                sync_state.write_marker(store, sk, done)
    except BaseException as exc:
        writer.close(cancel=True)  # every writer thread has ended when this returns
        claim.release(completed=False)  # best effort; joins the lease renewer
        final = _failed(warehouse, view, running, read[0], writer.counters, exc)
        if final is exc:
            raise
        raise final from None
    seconds = time.perf_counter() - started
    sync_state.save(warehouse, done)
    mode = ("first load (BatchWriteItem)" if claim.unconditional
            else "conditional (TransactWriteItems)")
    return SyncResult(view.name, view.version, mode, plan.read.full, rows_read,
                      done.rows_written, done.rows_skipped, done.rows_retried, seconds,
                      done.watermark, plan.reason, done.rows_unchanged)


def on_executors(warehouse: Warehouse, options: SyncOptions) -> bool:
    """Whether the warehouse's executors write (Spark, ``--workers`` > 1): always
    conditionally, since a re-run task reads the table again (``executor_writes.py``)."""
    return options.workers > 1 and warehouse.dialect.runs_partitions


def _write(warehouse: Warehouse, store: OnlineStore, view: FeatureView, relation: str,
           plan: _Plan, options: SyncOptions, writer, unconditional: bool, run_id: str,
           progress) -> tuple[int, Counters]:
    """Write the run's rows: on the executors, in shards by worker processes, or in this
    process (``--workers 1``); the rows read and the writes' counters."""
    if on_executors(warehouse, options):
        return write_on_executors(
            warehouse, view, relation, plan.read, config=store.config,
            partitions=options.workers * SHARDS_PER_WORKER, threads=options.threads,
            batch_size=options.batch_size, progress=progress)
    if options.workers > 1:
        return run_shards(
            warehouse, store, view, relation, plan.read, workers=options.workers,
            run_id=run_id, unconditional=unconditional, threads=options.threads,
            batch_size=options.batch_size, lease_seconds=options.lease_seconds,
            progress=progress)
    rows_read = _write_rows(warehouse, view, relation, plan, options, writer, unconditional,
                            progress)
    return rows_read, writer.counters


def _write_rows(warehouse: Warehouse, view: FeatureView, relation: str, plan: _Plan,
                options: SyncOptions, writer, unconditional: bool, progress) -> int:
    """Read the run's rows and write them in this process; the rows read."""
    rows_read = 0
    for rows in read_latest(warehouse, view, relation, plan.read, options.batch_size):
        written_at = time.time_ns() // 1_000
        items = [encode_item(view, row, written_at) for row in rows]  # all, first
        writer.submit(items, conditional=not unconditional, compare=not unconditional)
        rows_read += len(rows)
        if progress is not None:
            progress(len(rows), writer.counters)
    writer.wait()
    return rows_read


def _done(running: sync_state.SyncState, previous: sync_state.SyncState, plan: _Plan,
          store_id: str, rows_read: int, counters: Counters) -> sync_state.SyncState:
    """The state a run that succeeded records."""
    return sync_state.SyncState(
        view_name=running.view_name, view_version=running.view_version,
        online_store=store_id,
        watermark=plan.high_water if plan.high_water is not None else previous.watermark,
        last_as_of=plan.read.as_of, run_id=running.run_id, status="ok",
        started_at=running.started_at, finished_at=utc_naive(), rows_read=rows_read,
        rows_written=counters.written, rows_skipped=counters.skipped,
        rows_retried=counters.retried,
        horizon=plan.horizon if plan.horizon is not None else previous.horizon,
        rows_unchanged=counters.unchanged,
    )


def _failed(warehouse: Warehouse, view: FeatureView, running: sync_state.SyncState,
            rows_read: int, counters: Counters, exc: BaseException) -> BaseException:
    """Record the failure in ``sync_state``; the error to raise, naming the view."""
    note = (f"{counters.written:,} items of this run were written before the error; the "
            "watermark did not move, so the next sync re-reads them")
    final: BaseException = exc
    if isinstance(exc, BadValueError):
        problem = str(exc)[len(str(BadValueError(exc.view, exc.key, exc.feature, ""))):]
        final = BadValueError(exc.view, exc.key, exc.feature, f"{problem}. {note}.")
    elif isinstance(exc, StoreUnavailable):
        final = StoreUnavailable(f"view `{view.name}`: {exc} {note}.")
    elif isinstance(exc, OnlineStoreError):
        final = OnlineStoreError(f"{exc} ({note})")
    failed = sync_state.SyncState(**{
        **running.__dict__, "status": "failed", "finished_at": utc_naive(),
        "rows_read": rows_read, "rows_written": counters.written,
        "rows_skipped": counters.skipped, "rows_retried": counters.retried,
        "rows_unchanged": counters.unchanged,
        "message": f"{type(final).__name__}: {final}"[:2000]})
    try:
        sync_state.save(warehouse, failed)
    except WarehouseError:
        pass  # the warehouse went too: the error being raised matters more
    return final
