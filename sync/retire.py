"""Deleting one version's online items, in batches, resumably.

The keys to delete are the version's entities in its warehouse relation (the sync wrote
one item per entity of it), read in key order and deleted through the online store's
``delete_items`` (BatchWriteItem, 25 keys a request, unprocessed ones retried per its
retry policy). After each batch of keys is acknowledged, a cursor marker records the
last key done::

    pk = "_featurestore#sync"   sk = "_retire#<view>#v<version>"
    cursor (S, the last key as JSON), deleted (N)

A run killed at any point is resumed by the next from that cursor; a key deleted twice
costs a write and changes nothing, so the two runs converge. When every key is done, the
version's sync markers (``_synced#`` and ``_first_load#``) go, then the cursor. A view
version whose relation is gone from the warehouse is found by a Scan of the table
instead (every item whose sort key is the version's), which costs a read of the table.

Items of entities that left the relation before the retirement (rows purged upstream)
are not found by key; DynamoDB's TTL (``expires_at``) removes them, or ``--scan`` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from featurestore.contracts import FeatureView
from featurestore.dtypes import sql_literal
from featurestore.errors import WarehouseError, WarehouseUnreachable
from featurestore.online.items import entity_pk, view_sk
from featurestore.online.store import OnlineStore
from featurestore.sync.first_load import marker_name as first_load_name
from featurestore.sync.state import marker_name as synced_name

BATCH_KEYS = 500  # keys per cursor step


@dataclass
class RetireProgress:
    deleted: int = 0  # delete requests acknowledged (this run and the runs before it)
    resumed_from: str | None = None  # the cursor a killed run left
    scanned: bool = False


def cursor_name(view: FeatureView) -> str:
    """The retirement cursor's marker name of ``view`` (one version)."""
    return f"_retire#{view_sk(view)}"


def _read_cursor(store: OnlineStore, view: FeatureView) -> tuple[list | None, int]:
    fields = store.read_markers([cursor_name(view)]).get(cursor_name(view))
    if not fields:
        return None, 0
    return json.loads(fields["cursor"]), int(fields["deleted"])


def _write_cursor(store: OnlineStore, view: FeatureView, key: list, deleted: int) -> None:
    store.put_marker(cursor_name(view), {"cursor": json.dumps(key), "deleted": deleted})


def _after(warehouse, view: FeatureView, cursor: list | None) -> str:
    """SQL: the keys after ``cursor`` in key order (lexicographic over the key columns)."""
    if cursor is None:
        return "true"
    col = warehouse.column
    keys = view.entity.join_keys
    terms = []
    for i, key in enumerate(keys):
        equal = [f"{col(k.name)} = {sql_literal(k.dtype, cursor[j])}"
                 for j, k in enumerate(keys[:i])]
        terms.append(" and ".join([*equal, f"{col(key.name)} > "
                                            f"{sql_literal(key.dtype, cursor[i])}"]))
    return " or ".join(f"({term})" for term in terms)


def delete_version_items(warehouse, store: OnlineStore, view: FeatureView, *,
                         scan: bool = False, batch_keys: int = BATCH_KEYS,
                         progress: Callable[[RetireProgress], None] | None = None,
                         ) -> RetireProgress:
    """Delete every online item of ``view`` (one version) from ``store``; resumes from
    the cursor a killed run left. ``scan``: find the items by a Scan of the table (also
    those of entities no longer in the relation) instead of by the relation's keys."""
    cursor, deleted = _read_cursor(store, view)
    done = RetireProgress(deleted, json.dumps(cursor) if cursor is not None else None)
    relation = warehouse.view_relation(view)
    if not scan:
        try:
            warehouse.columns(relation)
        except WarehouseUnreachable:
            raise
        except WarehouseError:
            scan = True  # the relation is gone: find the items in the table itself
    if scan:
        done.scanned = True
        _delete_scanned(store, view, done, progress)
    else:
        col = warehouse.column
        keys = ", ".join(col(k) for k in view.keys)
        sql = (f"select distinct {keys} from {relation} where {_after(warehouse, view, cursor)}"
               f" order by {keys}")
        pending: list[dict] = []
        for batch in warehouse.stream_batches(sql, batch_size=batch_keys):
            pending.extend(batch.to_pylist())
            while len(pending) >= batch_keys:
                _step(store, view, pending[:batch_keys], done, progress)
                pending = pending[batch_keys:]
        if pending:
            _step(store, view, pending, done, progress)
    store.delete_markers([synced_name(view_sk(view)), first_load_name(view_sk(view)),
                          cursor_name(view)])
    return done


def _step(store: OnlineStore, view: FeatureView, rows: list[dict], done: RetireProgress,
          progress) -> None:
    sk = view_sk(view)
    store.delete_items([(entity_pk(view.entity, row), sk) for row in rows])
    done.deleted += len(rows)
    last = rows[-1]
    _write_cursor(store, view, [last[k] for k in view.keys], done.deleted)
    if progress is not None:
        progress(done)


def _delete_scanned(store: OnlineStore, view: FeatureView, done: RetireProgress,
                    progress) -> None:
    for keys in store.version_items(view_sk(view)):
        if keys:
            store.delete_items(keys)
            done.deleted += len(keys)
            if progress is not None:
                progress(done)
