"""The online vector at time t equals the offline as_of_join training row for t.

The same rows feed both sides: a DuckDB feature table that the as-of join (rendered from
macros/ by featurestore.sql_render) reads, and the DynamoDB item the sync would have
written by t (the latest row with feature_ts <= t), read back by lookup(now=t).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from featurestore.generate import view_spec
from featurestore.lookup import service
from featurestore.online.items import encode_item, entity_pk, view_sk
from featurestore.sql_render import render_as_of_join
from tests.online_stores import store_for

T0 = dt.datetime(2026, 5, 1, 10, 0, 0)
T1 = dt.datetime(2026, 5, 3, 10, 0, 0)
ROWS = {
    "user_transactions": [
        {"user_id": 1, "feature_ts": T0, "txn_count_7d": 1, "txn_amount_avg_7d": 5.25,
         "last_txn_amount": 5.25},
        {"user_id": 1, "feature_ts": T1, "txn_count_7d": 2, "txn_amount_avg_7d": None,
         "last_txn_amount": 0.1},
        {"user_id": 3, "feature_ts": T0, "txn_count_7d": 7, "txn_amount_avg_7d": 1.5,
         "last_txn_amount": 2.0},
    ],
    "user_profile": [
        {"user_id": 1, "feature_ts": T0 - dt.timedelta(days=10), "country": "DE",
         "signup_channel": None, "is_verified": True, "kyc_level": 2,
         "signed_up_at": dt.datetime(2024, 1, 2, 3, 4, 5, 123456), "email_domain": "x.com"},
    ],
}
SPINE = [
    (1, T0 - dt.timedelta(seconds=1)),  # before any value: defaults / missing
    (1, T0),  # a value written at t is visible at t
    (1, T0 + dt.timedelta(hours=2)),  # past the freshness SLO: stale online, same value
    (1, T1 + dt.timedelta(days=30)),  # exactly the ttl: still visible (inclusive)
    (1, T1 + dt.timedelta(days=30, seconds=1)),  # past the ttl: expired, the defaults
    (2, T1),  # an entity with no rows at all
    (3, T0 + dt.timedelta(days=31)),  # expired, and no profile
]
VIEWS = ("user_transactions", "user_profile")


def _fill(view, row: dict) -> dict:
    full = {name: None for name in view.feature_names}
    full.update(row)
    full["loaded_at"] = row["feature_ts"]
    return full


@pytest.fixture
def warehouse(tmp_path, catalog):
    connection = duckdb.connect(str(tmp_path / "parity.duckdb"))
    for name in VIEWS:
        view = catalog.views[name]
        types = {"int64": "bigint", "float64": "double", "string": "varchar",
                 "bool": "boolean", "timestamp": "timestamp"}
        columns = ["user_id bigint", "feature_ts timestamp", "loaded_at timestamp"] + [
            f"{f.name} {types[f.dtype]}" for f in view.features]
        connection.execute(f"create table {view.source} ({', '.join(columns)})")
        order = ["user_id", "feature_ts", "loaded_at", *view.feature_names]
        for row in ROWS[name]:
            full = _fill(view, row)
            connection.execute(f"insert into {view.source} values "
                               f"({', '.join('?' for _ in order)})", [full[c] for c in order])
    connection.execute("create table spine (user_id bigint, event_ts timestamp)")
    connection.executemany("insert into spine values (?, ?)", SPINE)
    return connection


def training_rows(connection, catalog) -> list[dict]:
    specs = [{**view_spec(catalog.views[name]), "relation": catalog.views[name].source}
             for name in VIEWS]
    cursor = connection.execute(render_as_of_join("duckdb", "spine", specs) +
                                " order by user_id, event_ts")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_online_vector_equals_training_row(warehouse, catalog, dynamodb_table):
    client, table = dynamodb_table
    reader = store_for(client, table, deadline_s=2.0)
    rows = training_rows(warehouse, catalog)
    assert len(rows) == len(SPINE)
    statuses = set()
    for training in rows:
        user_id, t = training["user_id"], training["event_ts"]
        for name in VIEWS:  # what the sync would have written by t
            view = catalog.views[name]
            visible = [r for r in ROWS[name] if r["user_id"] == user_id and r["feature_ts"] <= t]
            key = {"pk": {"S": entity_pk(view.entity, {"user_id": user_id})},
                   "sk": {"S": view_sk(view)}}
            if visible:
                latest = max(visible, key=lambda r: r["feature_ts"])
                client.put_item(TableName=table, Item=encode_item(view, _fill(view, latest), 0))
            else:
                client.delete_item(TableName=table, Key=key)
        requests = [service.entity_request(catalog, "user", [{"user_id": user_id}],
                                           list(VIEWS))]
        outcome = service.lookup(requests, reader, now=t)
        online = outcome.results[0][0]["features"]
        for name in VIEWS:
            view = catalog.views[name]
            offline_ts = training[f"{name}__feature_ts"]
            for feature in view.features:
                got = online[f"{name}:{feature.name}"]
                statuses.add(got["status"])
                where = f"user {user_id} at {t}, {name}:{feature.name}"
                assert got["value"] == service.json_value(training[f"{name}__{feature.name}"]), \
                    where
                if got["status"] in ("PRESENT", "STALE"):
                    assert got["feature_ts"] == service.json_value(offline_ts), where
                else:
                    assert offline_ts is None, where
    assert statuses == {"PRESENT", "STALE", "EXPIRED", "DEFAULT", "MISSING"}
