"""The registry's log of what happened to each view version: backfills, promotions,
rollbacks and retirements, with who, when and why.

``featurestore.feature_versions`` in the warehouse, beside ``feature_registry`` (which
holds the contracts themselves), one row per event::

    event_id, view_name, version, action, previous_version, online_store,
    by_user, changed_at, reason, forced, details (JSON)

``action`` is one of ``backfill``, ``promote``, ``rollback``, ``retire_started``,
``retired`` and ``dropped`` (a retired version's offline table). The online store holds
the serving pointer itself (``online/serving.py``): a lookup reads that, never this
table. This log is what a training set consults for the served version, what ``plan``
consults before a version may leave a contract, and the history ``featurestore versions``
prints. Reads tolerate a warehouse that has no such table yet (read-only connections, a
fresh project): nothing has happened then.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field

from featurestore.dtypes import utc_naive
from featurestore.errors import WarehouseError, WarehouseUnreachable

TABLE = "feature_versions"
ACTIONS = ("backfill", "promote", "rollback", "retire_started", "retired", "dropped")
SERVING_ACTIONS = ("promote", "rollback")
COLUMNS = ("event_id", "view_name", "version", "action", "previous_version", "online_store",
           "by_user", "changed_at", "reason", "forced", "details")


@dataclass
class VersionEvent:
    view_name: str
    version: int
    action: str
    by_user: str
    reason: str = ""
    previous_version: int | None = None
    online_store: str | None = None
    forced: bool = False
    details: dict = field(default_factory=dict)
    at: dt.datetime = field(default_factory=utc_naive)
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    def to_dict(self) -> dict:
        return {"event_id": self.event_id, "view": self.view_name, "version": self.version,
                "action": self.action, "previous_version": self.previous_version,
                "online_store": self.online_store, "by": self.by_user, "at": self.at,
                "reason": self.reason, "forced": self.forced, "details": self.details}


def ensure_table(warehouse) -> str:
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(
        f"create table if not exists {table} ("
        "event_id varchar not null, view_name varchar not null, version integer not null, "
        "action varchar not null, previous_version integer, online_store varchar, "
        "by_user varchar not null, changed_at timestamp not null, reason varchar, "
        "forced boolean not null, details varchar)")
    return table


def record(warehouse, event: VersionEvent) -> VersionEvent:
    """Append one event (idempotent on ``event_id``: a rerun that repairs a record made
    from the online pointer never writes it twice)."""
    if event.action not in ACTIONS:
        raise ValueError(f"unknown version action {event.action!r}")
    table = ensure_table(warehouse)
    with warehouse.transaction():
        if warehouse.fetch_all(f"select count(*) from {table} where event_id = ?",
                               [event.event_id])[0][0]:
            return event
        warehouse.execute(
            f"insert into {table} ({', '.join(COLUMNS)}) values "
            f"({', '.join('?' * len(COLUMNS))})",
            [event.event_id, event.view_name, event.version, event.action,
             event.previous_version, event.online_store, event.by_user,
             utc_naive(event.at), event.reason, event.forced,
             json.dumps(event.details, sort_keys=True, default=str)])
    return event


def events(warehouse, view: str | None = None) -> list[VersionEvent]:
    """Every event (of ``view``), oldest first; none when the table does not exist."""
    try:
        table = warehouse.store_table(TABLE)
        where, params = ("where view_name = ? ", [view]) if view is not None else ("", [])
        rows = warehouse.fetch_all(
            f"select {', '.join(COLUMNS)} from {table} {where}order by changed_at, event_id",
            params)
    except WarehouseUnreachable:
        raise
    except WarehouseError:  # no such table yet: nothing has happened
        return []
    found = []
    for (event_id, name, version, action, previous, store, who, at, reason, forced,
         details) in rows:
        found.append(VersionEvent(name, version, action, who, reason or "", previous, store,
                                  bool(forced), json.loads(details or "{}"), at, event_id))
    return found


def served_versions(warehouse) -> dict[str, int]:
    """View -> the version its last promotion or rollback chose (views never promoted
    are absent: they serve their base version)."""
    served: dict[str, int] = {}
    for event in events(warehouse):
        if event.action in SERVING_ACTIONS:
            served[event.view_name] = event.version
    return served


def retired_versions(warehouse) -> dict[str, set[int]]:
    """View -> the versions retired, or being retired (their online items are going)."""
    retired: dict[str, set[int]] = {}
    for event in events(warehouse):
        if event.action in ("retire_started", "retired", "dropped"):
            retired.setdefault(event.view_name, set()).add(event.version)
    return retired


# -- training sets: which view versions each one read ---------------------------------------
TRAINING_TABLE = "training_sets"


def record_training_set(warehouse, manifest: dict) -> int:
    """One row per view of a training set's manifest, on-demand views included:
    (created_at, path, view, version, pinned). ``featurestore retire`` reads them: a
    version a recent training set pinned may still be asked for by the model trained on
    it; ``plan`` reads them as consumers."""
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TRAINING_TABLE)
    warehouse.execute(
        f"create table if not exists {table} (created_at timestamp not null, path varchar, "
        "join_sql_sha256 varchar, view_name varchar not null, version integer not null, "
        "pinned boolean not null)")
    created = utc_naive(dt.datetime.fromisoformat(manifest["created_at"]))
    # its on-demand views too: their expressions' meaning is then consumed (registry.py)
    rows = [(created, manifest["output"]["path"], manifest["join_sql_sha256"], view["name"],
             view["version"], bool(view.get("pinned")))
            for view in [*manifest["views"], *manifest.get("on_demand", ())]]
    with warehouse.transaction():
        for row in rows:
            warehouse.execute(f"insert into {table} values (?, ?, ?, ?, ?, ?)", list(row))
    return len(rows)


def pinned_by(warehouse, view: str, version: int, since: dt.datetime) -> list[tuple]:
    """``(created_at, path)`` of training sets since ``since`` that pinned ``view@vN``."""
    try:
        return warehouse.fetch_all(
            f"select created_at, coalesce(path, '(in memory)') from "
            f"{warehouse.store_table(TRAINING_TABLE)} where view_name = ? and version = ? "
            "and pinned and created_at >= ? order by created_at desc",
            [view, version, utc_naive(since)])
    except WarehouseUnreachable:
        raise
    except WarehouseError:  # no training set recorded yet
        return []
