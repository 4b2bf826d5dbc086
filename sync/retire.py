"""Deleting one version's online items, in batches, resumably.

The keys to delete are the version's entities in its warehouse relation (the sync wrote
one item per entity of it), read in key order and deleted with BatchWriteItem, 25 keys a
request, unprocessed ones retried. After each batch of keys is acknowledged, a cursor
item records the last key done::

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
import time
from collections.abc import Callable
from dataclasses import dataclass

from featurestore.contracts import FeatureView
from featurestore.dtypes import sql_literal
from featurestore.errors import OnlineStoreError, WarehouseError, WarehouseUnreachable
from featurestore.online.items import entity_pk, view_sk
from featurestore.online.retry import backoff_delay
from featurestore.sync.first_load import MARKER_PK
from featurestore.sync.first_load import marker_key as first_load_key
from featurestore.sync.state import marker_key as synced_key

BATCH_KEYS = 500  # keys per cursor step
WRITE_LIMIT = 25  # BatchWriteItem's maximum


@dataclass
class RetireProgress:
    deleted: int = 0  # delete requests acknowledged (this run and the runs before it)
    resumed_from: str | None = None  # the cursor a killed run left
    scanned: bool = False


def cursor_key(view: FeatureView) -> dict:
    return {"pk": {"S": MARKER_PK}, "sk": {"S": f"_retire#{view_sk(view)}"}}


def _read_cursor(client, table: str, view: FeatureView) -> tuple[list | None, int]:
    item = client.get_item(TableName=table, Key=cursor_key(view),
                           ConsistentRead=True).get("Item")
    if not item:
        return None, 0
    return json.loads(item["cursor"]["S"]), int(item["deleted"]["N"])


def _write_cursor(client, table: str, view: FeatureView, key: list, deleted: int) -> None:
    client.put_item(TableName=table, Item={**cursor_key(view), "cursor": {
        "S": json.dumps(key)}, "deleted": {"N": str(deleted)}})


def _delete(client, table: str, keys: list[dict]) -> None:
    """BatchWriteItem DeleteRequests, 25 at a time, unprocessed ones retried."""
    for start in range(0, len(keys), WRITE_LIMIT):
        pending = {table: [{"DeleteRequest": {"Key": key}}
                           for key in keys[start:start + WRITE_LIMIT]]}
        attempt = 0
        while pending:
            answer = client.batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if pending:
                if attempt >= 12:
                    raise OnlineStoreError(
                        f"DynamoDB kept {len(pending[table])} deletes unprocessed; run "
                        "`featurestore retire` again, it resumes where this one stopped")
                time.sleep(backoff_delay(attempt, 0.05, 5.0))
                attempt += 1


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


def delete_version_items(warehouse, client, table: str, view: FeatureView, *,
                         scan: bool = False, batch_keys: int = BATCH_KEYS,
                         progress: Callable[[RetireProgress], None] | None = None,
                         ) -> RetireProgress:
    """Delete every online item of ``view`` (one version) from ``table``; resumes from
    the cursor a killed run left. ``scan``: find the items by a Scan of the table (also
    those of entities no longer in the relation) instead of by the relation's keys."""
    cursor, deleted = _read_cursor(client, table, view)
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
        _delete_scanned(client, table, view, done, progress)
    else:
        col = warehouse.column
        keys = ", ".join(col(k) for k in view.keys)
        sql = (f"select distinct {keys} from {relation} where {_after(warehouse, view, cursor)}"
               f" order by {keys}")
        pending: list[dict] = []
        for batch in warehouse.stream_batches(sql, batch_size=batch_keys):
            pending.extend(batch.to_pylist())
            while len(pending) >= batch_keys:
                _step(client, table, view, pending[:batch_keys], done, progress)
                pending = pending[batch_keys:]
        if pending:
            _step(client, table, view, pending, done, progress)
    client.delete_item(TableName=table, Key=synced_key(view_sk(view)))
    client.delete_item(TableName=table, Key=first_load_key(view_sk(view)))
    client.delete_item(TableName=table, Key=cursor_key(view))
    return done


def _step(client, table: str, view: FeatureView, rows: list[dict], done: RetireProgress,
          progress) -> None:
    sk = view_sk(view)
    _delete(client, table, [{"pk": {"S": entity_pk(view.entity, row)}, "sk": {"S": sk}}
                            for row in rows])
    done.deleted += len(rows)
    last = rows[-1]
    _write_cursor(client, table, view, [last[k] for k in view.keys], done.deleted)
    if progress is not None:
        progress(done)


def _delete_scanned(client, table: str, view: FeatureView, done: RetireProgress,
                    progress) -> None:
    sk = view_sk(view)
    request = {"TableName": table, "FilterExpression": "sk = :sk",
               "ExpressionAttributeValues": {":sk": {"S": sk}},
               "ProjectionExpression": "pk, sk", "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in page.get("Items", [])]
        if keys:
            _delete(client, table, keys)
            done.deleted += len(keys)
            if progress is not None:
                progress(done)
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
