"""The transformed training row equals the service endpoint's vector for the same entity
at the same time, on the demo warehouse (DuckDB) and DynamoDB Local: exact for raw
values, codes and bins, within 1e-12 relative for floats.

The training set is built with `--service fraud_model` at one time t for 40 users and an
unknown one, each with the amount being scored (the request field of the service's
on-demand feature, `txn_context:amount_over_avg_30d`); the online table gets, per user
and view, the row the sync would have written by t (the latest at or before it); the
endpoint answers with its clock at t, the same amount in `request.amount`, through the
registry's frozen parameters as `featurestore serve` reads them.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import duckdb
import pytest

from featurestore.feature_services.freeze import build_service_training_set
from featurestore.feature_services.serving import project_records
from featurestore.lookup.http_server import to_event
from featurestore.lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
from featurestore.lookup.service_vectors import services_from_snapshot
from featurestore.online.items import encode_item, to_epoch_micros
from featurestore.warehouse import Warehouse
from tests.lookup.lookup_testkit import make_app

pytestmark = pytest.mark.slow
T = dt.datetime(2026, 4, 28, 12, 0, 0)
UNKNOWN = 999_999


@pytest.fixture
def built(demo_env, tmp_path):
    raw = demo_env.raw_file("transactions")
    spine = tmp_path / "spine.parquet"
    with duckdb.connect() as con:
        con.execute(f"""copy (
            select user_id, timestamp '{T}' as event_ts, 10.0 + user_id / 8 as amount from (
                select distinct user_id from read_parquet('{raw}') order by user_id limit 40)
            union all select {UNKNOWN}, timestamp '{T}', 1.25
        ) to '{spine}'""").fetchall()
    return build_service_training_set(demo_env.project, str(spine), "fraud_model",
                                      in_memory=True)


def _seed_as_of(project, client, table, users: list[int]) -> None:
    """Per view and user, the latest row at or before T (a later created_ts wins a tie),
    written as the sync writes items."""
    catalog = project.catalog()
    with Warehouse(project, read_only=True) as warehouse:
        for name in ("user_transactions", "user_profile"):
            view = catalog.views[name]
            rows = warehouse.fetch_arrow(
                f"select * from {warehouse.view_relation(view)} where feature_ts <= ? "
                f"qualify row_number() over (partition by user_id order by feature_ts desc, "
                f"{view.created_timestamp} desc) = 1", [T]).to_pylist()
            for row in rows:
                if row["user_id"] in users:
                    client.put_item(TableName=table, Item=encode_item(
                        view, row, to_epoch_micros(T)))


def same(training, online) -> bool:
    if isinstance(training, float) and isinstance(online, float):
        return training == online or math.isclose(training, online, rel_tol=1e-12)
    return training == online and type(training) is type(online)


def test_training_row_equals_the_endpoints_vector(demo_env, built, dynamodb_table):
    client, table = dynamodb_table
    project = demo_env.project
    rows = built.table.to_pylist()
    _seed_as_of(project, client, table, [r["user_id"] for r in rows])
    catalog = catalog_from_snapshot(build_snapshot(project.catalog()))
    services = services_from_snapshot({"services": project_records(project)})
    app = make_app(catalog, client, table, clock=lambda: T, services=services)
    statuses, compared = set(), 0
    for row in rows:
        # the on-demand feature's request field, as the spine carried it
        path = (f"/v1/services/fraud_model/user/{row['user_id']}"
                f"?request.amount={row['amount']!r}")
        answer = app.handle(to_event("GET", path, {}, None))
        assert answer["statusCode"] == 200, answer["body"]
        body = json.loads(answer["body"])
        assert body["parameters_sha256"] == built.manifest["service"]["parameters_sha256"]
        assert body["columns"] == (built.manifest["service"]["features"]
                                   + built.manifest["service"]["transformed_columns"])
        (result,) = body["results"]
        for column, online in zip(body["columns"], result["vector"], strict=True):
            assert same(row[column], online), (row["user_id"], column, row[column], online)
            compared += 1
        statuses |= {v["status"] for v in result["features"].values()}
    assert compared == len(rows) * len(body["columns"])
    # the on-demand feature's request field is what the model scores: without it, a 400
    refused = app.handle(to_event("GET", "/v1/services/fraud_model/user/1", {}, None))
    assert (refused["statusCode"], json.loads(refused["body"])["message"]) == (
        400, "request field `amount` is required: it is declared `nullable: false`")
    assert {"PRESENT", "STALE", "MISSING", "DEFAULT"} <= statuses
