"""The sync's memory: one ``featurestore.sync_state`` row per view version *and store*, and
the table's own record of the last run it received.

The watermark lives beside the data it describes (not in a local file), so any machine can
run the next sync, and it moves in one warehouse transaction with the run's counters, only
after DynamoDB has acknowledged every write of the run: a crash leaves the old watermark,
and the next run simply reads the same rows again (the conditional writes make that safe).

A watermark says what one table holds, so a row belongs to one store: ``online_store`` is
``<endpoint URL> <table ARN>`` (the online store's ``store_id``), which names
the endpoint or region, the account and the table. A new table, another region or account,
or a second DynamoDB Local finds no row of its own, and its first run is a full load.

The same table can still lose what the row claims: it is dropped and created again under
its name, DynamoDB Local restarts in memory, a backup is restored. So the table keeps its
own record, a *sync marker* item per view version, written after each run's writes are
acknowledged and before the row moves::

    pk = "_featurestore#sync"   sk = "_synced#<view>#v<version>"
    watermark (N, epoch microseconds; absent when none), as_of (N), run_id (S)

Every run reads it with the view version's first-load marker (one consistent
BatchGetItem, which also spares the first-load claim its own reads): missing, or older
than the row's watermark, means the table lacks what the row claims, and the run is a full
load. Writing the marker before the row means a crash between the two leaves the marker
ahead of the row, never behind: the next run is then incremental from the older
watermark, which re-reads more, not less. A run that found nothing new leaves the marker
as it is (it already confirms the unchanged watermark).

The row also keeps the run's *data horizon*, ``max(feature_ts)`` of the rows it could
publish, read before the rows like the watermark: the next incremental run also reads the
entities with a row past it (window exits that newer events revealed, which carry old
landing times; ``reader.py``). A row without one (an older featurestore) starts a full
run, which with verify-and-repair writes only what differs.

Rows written before the store was part of the key have ``online_store`` null. ``load``
falls back to such a row when the store has none of its own, and ``save`` replaces it:
no table has a marker for it, so its first run under a store is a full load all the same.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass

from featurestore.errors import WarehouseError
from featurestore.online.items import from_epoch_micros, to_epoch_micros
from featurestore.online.store import MARKER_PK, OnlineStore
from featurestore.sync import first_load
from featurestore.warehouse import Warehouse

TABLE = "sync_state"
COLUMNS = (
    "view_name", "view_version", "online_store", "watermark", "last_as_of", "run_id",
    "status", "started_at", "finished_at", "rows_read", "rows_written", "rows_skipped",
    "rows_retried", "message", "horizon", "rows_unchanged",
)
# Columns added after the table's first version, with their types: ``ensure_table`` adds
# whichever an existing table lacks.
ADDED_COLUMNS = (("online_store", "varchar"), ("horizon", "timestamp"),
                 ("rows_unchanged", "bigint"))


@dataclass
class SyncState:
    view_name: str
    view_version: int
    online_store: str | None = None  # "<endpoint URL> <table ARN>"; None: a legacy row
    watermark: dt.datetime | None = None  # max loaded_at of acknowledged rows
    last_as_of: dt.datetime | None = None  # the "now" of the last successful run
    run_id: str = ""
    status: str = "never"
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    rows_read: int = 0
    rows_written: int = 0
    rows_skipped: int = 0
    rows_retried: int = 0
    message: str = ""
    horizon: dt.datetime | None = None  # max feature_ts of the visible rows at the last run
    rows_unchanged: int = 0  # rows whose stored item already held them: not written


_READY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # warehouse -> table


def ensure_table(warehouse: Warehouse) -> str:
    """Create the table, or add the columns a table made before them lacks
    (``ADDED_COLUMNS``); once per ``Warehouse`` object (a sync loads and saves several
    times per view)."""
    if warehouse in _READY:
        return _READY[warehouse]
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(
        f"create table if not exists {table} ("
        "view_name varchar not null, view_version integer not null, online_store varchar, "
        "watermark timestamp, last_as_of timestamp, run_id varchar, status varchar, "
        "started_at timestamp, finished_at timestamp, rows_read bigint, rows_written bigint, "
        "rows_skipped bigint, rows_retried bigint, message varchar, horizon timestamp, "
        "rows_unchanged bigint)"
    )
    for column, kind in ADDED_COLUMNS:
        if column in {c.lower() for c in warehouse.columns(table)}:
            continue
        try:
            warehouse.execute(f"alter table {table} add column {column} {kind}")
        except WarehouseError:  # another sync added it meanwhile
            if column not in {c.lower() for c in warehouse.columns(table)}:
                raise
    _READY[warehouse] = table
    return table


def load(warehouse: Warehouse, view_name: str, view_version: int,
         online_store: str | None = None) -> SyncState:
    """The view version's row for ``online_store`` (else its legacy row, if any); without
    a store, the row of its latest run, whatever the store."""
    table = ensure_table(warehouse)
    select = f"select {', '.join(COLUMNS)} from {table} where view_name = ? and view_version = ?"
    if online_store is None:
        rows = warehouse.fetch_all(
            f"{select} order by coalesce(finished_at, started_at) desc nulls last limit 1",
            [view_name, view_version])
    else:
        rows = warehouse.fetch_all(
            f"{select} and (online_store = ? or online_store is null) "
            "order by online_store nulls last limit 1",
            [view_name, view_version, online_store])
    if not rows:
        return SyncState(view_name, view_version, online_store)
    state = SyncState(*rows[0])
    state.rows_unchanged = state.rows_unchanged or 0
    if online_store is not None:
        state.online_store = online_store  # a legacy row is adopted by this store
    return state


def load_all(warehouse: Warehouse) -> list[SyncState]:
    table = ensure_table(warehouse)
    rows = warehouse.fetch_all(
        f"select {', '.join(COLUMNS)} from {table} "
        "order by view_name, view_version, online_store nulls first"
    )
    return [SyncState(*row[:-1], row[-1] or 0) for row in rows]


def save(warehouse: Warehouse, state: SyncState) -> None:
    """Replace the view version's row for its store (and any legacy row) in one
    transaction (portable: no MERGE/UPSERT)."""
    table = ensure_table(warehouse)
    values = [getattr(state, column) for column in COLUMNS]
    with warehouse.transaction():
        warehouse.execute(
            f"delete from {table} where view_name = ? and view_version = ? "
            "and (online_store = ? or online_store is null)",
            [state.view_name, state.view_version, state.online_store],
        )
        warehouse.execute(
            f"insert into {table} ({', '.join(COLUMNS)}) "
            f"values ({', '.join('?' for _ in COLUMNS)})",
            values,
        )


def reset(warehouse: Warehouse, view_name: str, view_version: int,
          watermark: dt.datetime | None, last_as_of: dt.datetime | None = None,
          online_store: str | None = None) -> None:
    """Move a watermark by hand (tests replay an older run this way)."""
    state = load(warehouse, view_name, view_version, online_store)
    state.watermark, state.last_as_of = watermark, last_as_of
    save(warehouse, state)


# -- the table's own record: the sync marker ---------------------------------------------
def marker_name(view_sk: str) -> str:
    """The sync marker's name (its sort key under ``MARKER_PK``)."""
    return f"_synced#{view_sk}"


def marker_key(view_sk: str) -> dict:
    return {"pk": {"S": MARKER_PK}, "sk": {"S": marker_name(view_sk)}}


def read_markers(store: OnlineStore, view_sk: str) -> tuple[dict | None, dict | None]:
    """The view version's first-load marker and sync marker (None where missing), in one
    consistent read: the two things a run must know about the table first."""
    names = [first_load.marker_name(view_sk), marker_name(view_sk)]
    found = store.read_markers(names)
    return found.get(names[0]), found.get(names[1])


def write_marker(store: OnlineStore, view_sk: str, state: SyncState) -> None:
    """Record in the table that it holds every row up to ``state.watermark``."""
    fields = {"run_id": state.run_id, "as_of": to_epoch_micros(state.last_as_of)}
    if state.watermark is not None:
        fields["watermark"] = to_epoch_micros(state.watermark)
    store.put_marker(marker_name(view_sk), fields)


def missing_from_table(marker: dict | None, state: SyncState) -> str:
    """Why the table lacks what ``state`` claims ("" when it holds it), given the table's
    sync marker (``read_markers``): the reason an incremental run must be a full load."""
    if marker is None:
        return ("the table has no sync marker for this view version (a new, recreated or "
                "wiped table)")
    if state.watermark is None:
        return ""
    if "watermark" not in marker or marker["watermark"] < to_epoch_micros(state.watermark):
        held = ("none" if "watermark" not in marker
                else from_epoch_micros(marker["watermark"]).isoformat(" "))
        return (f"the table's sync marker is at watermark {held}, older than the state's "
                f"{state.watermark.isoformat(' ')} (a table restored from a backup?)")
    return ""
