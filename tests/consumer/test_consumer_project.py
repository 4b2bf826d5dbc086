"""featurestore in a team's own dbt project (tests/consumer_project/, "shop"): it
installs the repository root as a dbt package, validates, builds, makes training sets
that equal the brute-force point-in-time reference, and serves from DynamoDB Local."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from featurestore.generate import view_spec
from featurestore.project import Project
from tests.conftest import REPO_ROOT
from tests.offline.pit_reference import as_of_join as reference_join

from .conftest import featurestore, spine_times

pytestmark = pytest.mark.slow

T = dt.datetime.fromisoformat
VIEW = "customer_orders"
FEATURES = ["order_count_7d", "order_amount_sum_30d", "order_amount_max_30d",
            "last_order_amount"]
SPINE_COLUMNS = ["customer_id", "event_ts", "label"]


def _sorted(rows) -> list[tuple]:
    """Rows in a fixed order (the join's output order is not guaranteed); None first."""
    return sorted((tuple(row) for row in rows),
                  key=lambda row: tuple((value is not None, value) if value is not None
                                        else (False, 0) for value in row))


def _reference(shop, spine: list[dict], spine_columns: list[str], features=FEATURES):
    """The expected training rows: pit_reference over the built feature rows."""
    view = Project(shop.root).catalog().views[VIEW]
    spec = view_spec(view)
    spec["features"] = [f for f in spec["features"] if f["name"] in features]
    rows = shop.query_dicts(f"select * from main.{view.source}")
    defaults = {(VIEW, f.name): f.default for f in view.features}
    return reference_join(spine, spine_columns, [(spec, rows)], defaults)


def _spine(shop) -> list[dict]:
    """Every customer (and an unknown one, and a null key) at and around each change of
    a value and each TTL edge; the first time twice (duplicate rows stay)."""
    times = spine_times([ts for (ts,) in shop.query(
        "select distinct feature_ts from main.fs_customer__orders")], dt.timedelta(days=30))
    rows = [{"customer_id": customer, "event_ts": t, "label": i % 2 == 0}
            for customer in (1, 2, 3, 4) for i, t in enumerate(times)]
    rows.append(dict(rows[0]))
    rows.append({"customer_id": None, "event_ts": times[5], "label": True})
    return rows


# -- validate, build, what dbt holds -----------------------------------------------------
def test_validate_and_build_pass_in_a_consumer_project(shop):
    before = shop.validate_before_build
    assert (before.exit_code, before.stdout) == (0, "OK: 1 feature views, 1 entities.\n")
    assert before.stderr == ("note: warehouse not built yet: column checks skipped (run "
                             "`featurestore build`)\n")
    build = shop.build
    assert build.exit_code == 0
    assert build.stderr == (
        "packages.yml lists 1 dbt package(s) and dbt_packages/ holds 0: running `dbt deps`\n"
        "dbt build\n")
    assert build.stdout.endswith("Build OK: models match their contracts.\n")
    assert "Done. PASS=24 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=24" in build.stdout
    assert (shop.root / "dbt_packages" / "featurestore").resolve() == REPO_ROOT
    # the profile's `path: acme.duckdb`, from the project folder; not featurestore's default
    assert shop.duckdb_path == shop.root / "acme.duckdb" and shop.duckdb_path.is_file()
    assert not (shop.root / "warehouse" / "featurestore.duckdb").exists()
    after = featurestore(shop.root, "validate")
    assert (after.exit_code, after.stdout, after.stderr) == (
        0, "OK: 1 feature views, 1 entities.\n", "")


def test_build_skips_dbt_deps_once_the_package_is_installed(shop):
    again = featurestore(shop.root, "build", "--select", "stg_shop__orders")
    assert (again.exit_code, again.stderr) == (0, "dbt build --select stg_shop__orders\n")


def test_manifest_has_no_node_of_the_featurestore_package(shop):
    manifest = json.loads((shop.root / "target" / "manifest.json").read_text())
    nodes = Counter((node["package_name"], node["resource_type"])
                    for node in manifest["nodes"].values())
    assert nodes == {("shop", "model"): 4, ("shop", "seed"): 2, ("shop", "test"): 18}
    assert (manifest["sources"], manifest["exposures"]) == ({}, {})
    # The demo's nodes are parsed but disabled by its profile gate, every one of them.
    disabled = {node["package_name"] for nodes in manifest["disabled"].values()
                for node in nodes}
    assert disabled == {"featurestore"}
    macros = set(manifest["macros"])
    assert {"macro.featurestore.as_of_join", "macro.featurestore.rolling_windows",
            "macro.featurestore.test_no_future_leakage",
            "macro.featurestore.test_unique_combination_of_columns",
            "macro.featurestore.test_accepted_range", "macro.featurestore.test_equality",
            "macro.shop.featurestore_contracts"} <= macros
    generic = Counter(node["test_metadata"]["namespace"] + "." + node["test_metadata"]["name"]
                      for node in manifest["nodes"].values()
                      if node.get("test_metadata", {}).get("namespace"))
    assert generic == {"featurestore.accepted_range": 5,
                       "featurestore.unique_combination_of_columns": 1,
                       "featurestore.no_future_leakage": 1}


def test_feature_rows_of_one_customer(shop):
    rows = shop.query("select feature_ts, order_count_7d, order_amount_sum_30d, "
                      "order_amount_max_30d, last_order_amount from main.fs_customer__orders "
                      "where customer_id = 1 order by feature_ts")
    assert rows == [
        (T("2026-01-01 10:00"), 1, 20.0, 20.0, 20.0),
        (T("2026-01-03 12:00"), 3, 60.0, 35.5, 4.5),  # two orders at one instant
        (T("2026-01-08 10:00"), 2, 60.0, 35.5, 4.5),  # order 1 leaves the 7-day window
        (T("2026-01-10 12:00"), 1, 70.0, 35.5, 10.0),  # orders 2, 3 leave as order 4 comes
        (T("2026-01-17 12:00"), 0, 70.0, 35.5, 10.0),
        (T("2026-01-31 10:00"), 0, 50.0, 35.5, 10.0),
        (T("2026-02-02 12:00"), 0, 10.0, 10.0, 10.0),
        (T("2026-02-09 12:00"), 0, 0.0, None, 10.0),
        (T("2026-02-25 00:00"), 1, 15.0, 15.0, 15.0),
    ]


def test_dbt_training_model_equals_the_reference(shop):
    spine = shop.query_dicts("select * from main.stg_shop__churn_labels")
    expected = _reference(shop, spine, ["customer_id", "event_ts", "is_churned"],
                          ["order_count_7d", "order_amount_sum_30d", "last_order_amount"])
    actual = shop.query("select * from main.churn_training_set")
    assert _sorted(actual) == _sorted(expected)
    assert len(actual) == 11
    # The TTL bound is inclusive: 30 days after customer 2's last row, not a second more.
    assert _sorted(shop.query(
        "select event_ts, customer_orders__last_order_amount, customer_orders__feature_ts "
        "from main.churn_training_set where customer_id = 2")) == [
        (T("2026-01-31 08:00"), 100.0, T("2026-01-09 08:00")),
        (T("2026-03-03 08:00"), 100.0, T("2026-02-01 08:00")),
        (T("2026-03-03 08:00:01"), None, None),
    ]


# -- training sets ---------------------------------------------------------------------
def test_cli_training_set_equals_the_reference(shop, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    spine = _spine(shop)
    spine_path, out = tmp_path / "spine.parquet", tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(spine, schema=pa.schema([
        ("customer_id", pa.int64()), ("event_ts", pa.timestamp("us")),
        ("label", pa.bool_())])), spine_path)
    done = featurestore(shop.root, "training-set", "--spine", str(spine_path),
                        "--features", VIEW, "--out", str(out))
    assert done.exit_code == 0, done.stderr
    assert done.stdout == (f"{len(spine):,} rows written to {out} "
                           f"(manifest: {out}.manifest.json)\n")
    table = pq.read_table(out)
    assert table.column_names == [*SPINE_COLUMNS, *(f"{VIEW}__{f}" for f in FEATURES),
                                  f"{VIEW}__feature_ts"]
    actual = [tuple(row.values()) for row in table.to_pylist()]
    assert _sorted(actual) == _sorted(_reference(shop, spine, SPINE_COLUMNS))


def test_sdk_training_set_from_pandas_equals_the_reference(shop):
    import pandas as pd

    from featurestore import FeatureStore

    spine = _spine(shop)
    frame = pd.DataFrame(spine).astype({"customer_id": "Int64"})
    table = FeatureStore(shop.root).training_set(
        frame, [f"{VIEW}:{f}" for f in ("order_count_7d", "last_order_amount")])
    assert table.column_names == [*SPINE_COLUMNS, f"{VIEW}__order_count_7d",
                                  f"{VIEW}__last_order_amount", f"{VIEW}__feature_ts"]
    actual = [tuple(row.values()) for row in table.to_pylist()]
    expected = _reference(shop, spine, SPINE_COLUMNS, ["order_count_7d", "last_order_amount"])
    assert _sorted(actual) == _sorted(expected)


# -- online ------------------------------------------------------------------------------
def test_sync_then_lookup_from_dynamodb_local(shop, dynamodb_table, dynamodb_local,
                                              monkeypatch):
    from featurestore import FeatureStore

    # a table whose TTL sweeper is off (the fixture's): this February history expired
    # long ago, and DynamoDB Local would delete its items mid-test
    _client, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    init = featurestore(shop.root, "online", "init")
    assert (init.exit_code, init.stdout) == (
        0, f"table {table} already exists, key schema checked.\n")
    # as of a day after the history ends: rows past their TTL now are not written, and
    # this history is older than its 30-day TTL
    sync = featurestore(shop.root, "sync", "--json", "--as-of", "2026-02-26T00:00:00Z")
    assert sync.exit_code == 0, sync.stderr
    document = json.loads(sync.stdout)
    assert document["refused"] == {}
    [result] = document["views"]
    assert {key: result[key] for key in ("view", "version", "full", "written", "skipped",
                                         "watermark")} == {
        "view": VIEW, "version": 1, "full": True, "written": 3, "skipped": 0,  # 3 customers
        "watermark": "2026-02-25T00:10:00"}  # the newest loaded_at

    looked = featurestore(shop.root, "lookup", "customer", "1", "-f", VIEW,
                          "--at", "2026-02-26T00:00:00Z", "--json")
    assert looked.exit_code == 0, looked.stderr
    present = {"feature_ts": "2026-02-25T00:00:00Z", "age_seconds": 86400,
               "status": "PRESENT"}
    assert json.loads(looked.stdout) == {"degraded": False, "results": [{
        "entity": "customer", "key": {"customer_id": 1}, "features": {
            f"{VIEW}:order_count_7d": {"value": 1, **present},
            f"{VIEW}:order_amount_sum_30d": {"value": 15.0, **present},
            f"{VIEW}:order_amount_max_30d": {"value": 15.0, **present},
            f"{VIEW}:last_order_amount": {"value": 15.0, **present},
        }}]}

    # The SDK, at customer 2's TTL edge (as training: inclusive), then one second past
    # it (the defaults, as training saw them), and for a customer never synced.
    store, wanted = FeatureStore(shop.root), [f"{VIEW}:order_amount_sum_30d",
                                               f"{VIEW}:last_order_amount"]
    edge = store.online("customer", 2, wanted, at=dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC))
    assert edge == {"degraded": False, "results": [{
        "entity": "customer", "key": {"customer_id": 2}, "features": {
            f"{VIEW}:order_amount_sum_30d": {
                "value": 0.0, "feature_ts": "2026-02-01T08:00:00Z", "age_seconds": 2592000,
                "status": "PRESENT"},
            f"{VIEW}:last_order_amount": {
                "value": 100.0, "feature_ts": "2026-02-01T08:00:00Z", "age_seconds": 2592000,
                "status": "PRESENT"},
        }}]}
    past = store.online("customer", [2, 4], wanted,
                        at=dt.datetime(2026, 3, 3, 8, 0, 1, tzinfo=dt.UTC))
    expired = {"feature_ts": "2026-02-01T08:00:00Z", "age_seconds": 2592001,
               "status": "EXPIRED"}
    assert past == {"degraded": False, "results": [
        {"entity": "customer", "key": {"customer_id": 2}, "features": {
            f"{VIEW}:order_amount_sum_30d": {"value": 0.0, **expired},
            f"{VIEW}:last_order_amount": {"value": None, **expired}}},
        {"entity": "customer", "key": {"customer_id": 4}, "features": {
            f"{VIEW}:order_amount_sum_30d": {"value": 0.0, "feature_ts": None,
                                             "status": "DEFAULT"},
            f"{VIEW}:last_order_amount": {"value": None, "feature_ts": None,
                                          "status": "MISSING"}}},
    ]}


def test_the_packages_own_on_demand_views_stay_out_of_a_consumer_project(shop):
    """The package installed from this source tree holds the demo's generated
    `featurestore_on_demand` macro; a project without on-demand views of its own must
    not find them through it (the data names the dbt project it was generated for)."""
    from dbt.cli.main import dbtRunner

    messages: list[str] = []
    result = dbtRunner(callbacks=[lambda event: messages.append(event.info.msg)]).invoke([
        "compile", "--inline",
        "{{ featurestore.as_of_join(ref('stg_shop__churn_labels'), ['txn_context']) }}",
        "--project-dir", str(shop.root), "--profiles-dir", str(shop.root), "--quiet"])
    assert not result.success
    assert ("as_of_join: unknown feature view `txn_context`; known views: customer_orders."
            in "\n".join(map(str, [result.exception, *messages])))
