"""The sync's memory in the warehouse: one ``featurestore.sync_state`` row per view version.

The watermark lives beside the data it describes (not in a local file), so any machine can
run the next sync, and it moves in one warehouse transaction with the run's counters, only
after DynamoDB has acknowledged every write of the run: a crash leaves the old watermark,
and the next run simply reads the same rows again (the conditional writes make that safe).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from featurestore.warehouse import Warehouse

TABLE = "sync_state"
COLUMNS = (
    "view_name", "view_version", "watermark", "last_as_of", "run_id", "status",
    "started_at", "finished_at", "rows_read", "rows_written", "rows_skipped", "rows_retried",
    "message",
)


@dataclass
class SyncState:
    view_name: str
    view_version: int
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


def ensure_table(warehouse: Warehouse) -> str:
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(
        f"create table if not exists {table} ("
        "view_name varchar not null, view_version integer not null, "
        "watermark timestamp, last_as_of timestamp, run_id varchar, status varchar, "
        "started_at timestamp, finished_at timestamp, rows_read bigint, rows_written bigint, "
        "rows_skipped bigint, rows_retried bigint, message varchar)"
    )
    return table


def load(warehouse: Warehouse, view_name: str, view_version: int) -> SyncState:
    table = ensure_table(warehouse)
    rows = warehouse.fetch_all(
        f"select {', '.join(COLUMNS)} from {table} where view_name = ? and view_version = ?",
        [view_name, view_version],
    )
    if not rows:
        return SyncState(view_name, view_version)
    return SyncState(*rows[0])


def load_all(warehouse: Warehouse) -> list[SyncState]:
    table = ensure_table(warehouse)
    rows = warehouse.fetch_all(
        f"select {', '.join(COLUMNS)} from {table} order by view_name, view_version"
    )
    return [SyncState(*row) for row in rows]


def save(warehouse: Warehouse, state: SyncState) -> None:
    """Replace the view version's row in one transaction (portable: no MERGE/UPSERT)."""
    table = ensure_table(warehouse)
    values = [getattr(state, column) for column in COLUMNS]
    with warehouse.transaction():
        warehouse.execute(
            f"delete from {table} where view_name = ? and view_version = ?",
            [state.view_name, state.view_version],
        )
        warehouse.execute(
            f"insert into {table} ({', '.join(COLUMNS)}) "
            f"values ({', '.join('?' for _ in COLUMNS)})",
            values,
        )


def reset(warehouse: Warehouse, view_name: str, view_version: int,
          watermark: dt.datetime | None, last_as_of: dt.datetime | None = None) -> None:
    """Move a watermark by hand (tests replay an older run this way)."""
    state = load(warehouse, view_name, view_version)
    state.watermark, state.last_as_of = watermark, last_as_of
    save(warehouse, state)
