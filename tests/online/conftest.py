"""Fixtures for the online store: a tiny project whose feature tables are plain DuckDB
tables built here (same columns as the dbt models), and helpers that compare the
warehouse's latest rows with DynamoDB's items, computed independently of the sync's SQL."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from featurestore.contracts import load_catalog
from featurestore.online.items import decode_item, entity_pk, view_sk
from featurestore.project import Project
from featurestore.warehouse import Warehouse
from tests.conftest import REPO_ROOT, write_dbt_project

CATALOG = load_catalog(REPO_ROOT / "feature_defs")
TXNS = CATALOG.views["user_transactions"]
PROFILE = CATALOG.views["user_profile"]
# Recent on purpose: DynamoDB Local applies the table's TTL (feature_ts + the view's ttl),
# so items of rows older than 30 days would vanish while a test reads them.
T0 = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=2)).replace(
    minute=0, second=0, microsecond=0)
AS_OF = T0 + dt.timedelta(days=10)

TXN_DDL = (
    "create table fs_user__transactions (user_id bigint, feature_ts timestamp, "
    "loaded_at timestamp, txn_count_1h bigint, txn_count_7d bigint, txn_count_30d bigint, "
    "txn_amount_sum_1h double, txn_amount_sum_7d double, txn_amount_sum_30d double, "
    "txn_amount_avg_7d double, txn_amount_avg_30d double, last_txn_amount double)"
)
PROFILE_DDL = (
    "create table fs_user__profile (user_id bigint, feature_ts timestamp, loaded_at timestamp,"
    " country varchar, signup_channel varchar, is_verified boolean, kyc_level bigint, "
    "signed_up_at timestamp, email_domain varchar)"
)


@pytest.fixture
def online_project(tmp_path, monkeypatch):
    """A project dir with the repo's contracts and an empty DuckDB warehouse."""
    for name in ("FEATURESTORE_DUCKDB_PATH", "FEATURESTORE_TARGET", "DBT_PROFILES_DIR"):
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(REPO_ROOT / "feature_defs", tmp_path / "feature_defs")
    write_dbt_project(tmp_path, "online_test")
    project = Project(tmp_path)
    with Warehouse(project) as warehouse:
        warehouse.execute(TXN_DDL)
        warehouse.execute(PROFILE_DDL)
    return project


def txn_row(user_id: int, feature_ts: dt.datetime, loaded_at: dt.datetime, scale: float = 1.0):
    """A row of fs_user__transactions whose values derive from its arguments."""
    n = user_id % 7 + 1
    return (user_id, feature_ts, loaded_at, n, n * 3, n * 9, 10.5 * scale, 31.25 * n * scale,
            90.0 * n * scale, 10.4 * scale if n % 2 else None, 11.0 * scale, 7.75 * scale)


def insert_txns(warehouse: Warehouse, rows) -> None:
    warehouse.connection.executemany(
        f"insert into fs_user__transactions values ({', '.join('?' * 12)})", list(rows)
    )


def warehouse_latest(warehouse: Warehouse, view, as_of: dt.datetime = AS_OF) -> dict:
    """pk -> (feature_ts, values) of each entity's newest row with feature_ts <= as_of,
    chosen in Python (not with the sync's SQL) so the comparison is independent."""
    columns = [*view.keys, view.timestamp, view.created_timestamp, *view.feature_names]
    rows = warehouse.fetch_all(f"select {', '.join(columns)} from {view.source}")
    best: dict[str, tuple] = {}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        if record[view.timestamp] > as_of:
            continue
        pk = entity_pk(view.entity, {k: record[k] for k in view.keys})
        order = (record[view.timestamp], record[view.created_timestamp])
        if pk not in best or order > best[pk][0]:
            best[pk] = (order, record)
    return {
        pk: (record[view.timestamp], {f: _normal(record[f]) for f in view.feature_names})
        for pk, (_, record) in best.items()
    }


def _normal(value):
    return float(value) if isinstance(value, float) else value


def dynamodb_items(client, table: str, view) -> dict:
    """pk -> (feature_ts, values, written_at) of every item of ``view`` in the table."""
    found = {}
    request = {"TableName": table, "FilterExpression": "sk = :sk",
               "ExpressionAttributeValues": {":sk": {"S": view_sk(view)}}}
    while True:
        page = client.scan(**request)
        for item in page["Items"]:
            feature_ts, values = decode_item(view, item)
            found[item["pk"]["S"]] = (feature_ts, values, int(item["written_at"]["N"]))
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def assert_online_equals_warehouse(warehouse, client, table, view, as_of=AS_OF) -> dict:
    expected = warehouse_latest(warehouse, view, as_of)
    online = dynamodb_items(client, table, view)
    assert {pk: (ts, values) for pk, (ts, values, _) in online.items()} == expected
    return online
