"""Training sets with on-demand features: each expression evaluated in the warehouse over
the spine's request columns and the as-of joined inputs, on DuckDB and on Snowflake's
SQL (through fakesnow), with values worked out by hand from the rows below."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from featurestore.errors import SpineError
from featurestore.project import Project
from featurestore.training import build_training_set
from featurestore.warehouse import Warehouse
from tests.conftest import REPO_ROOT, write_dbt_project
from tests.offline.conftest import on_fakesnow, use_snowflake_target
from tests.offline.test_snowflake_training import TABLES, TYPES, sent  # noqa: F401

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning")]

T = dt.datetime(2026, 1, 1, 12)
PROFILE = ("user_id {int}, feature_ts {ts}, loaded_at {ts}, country {text}",
           [(1, T - dt.timedelta(days=10), T - dt.timedelta(days=10), "FR"),
            (2, T - dt.timedelta(days=100), T - dt.timedelta(days=100), "US")])
TEXT = {"snowflake": "varchar", "duckdb": "varchar"}
ON_DEMAND = ["txn_context__amount_over_avg_30d", "txn_context__amount_minus_avg_7d",
             "txn_context__local_hour", "txn_context__is_foreign"]
# (amount_over_avg_30d, amount_minus_avg_7d, local_hour, is_foreign) per spine row, by hand:
# user 1 has avg_30d 5.0 and avg_7d 4.0 from T, avg_7d null from T+2h; user 2's row
# expired (TTL 30d: no defaults, so nulls); user 3 has no row. Profiles: user 1 FR,
# user 2 US.
EXPECTED = [
    (None, 10.0, 12, False),  # T-1min, FR merchant: 11:59 UTC is 12:59 in Paris
    (3.0, 11.0, 13, True),    # T, DE: 15 / 5; 15 - 4; 12:00 UTC is 13:00 in Berlin
    (1.5, 7.5, 10, True),     # T+3h, US: 7.5 / 5; 7.5 - 0; 15:00 UTC is 10:00 in New York
    (None, 2.0, 12, None),    # user 2 at T, no merchant country: UTC, null <> 'US' is null
    (None, 0.0, 12, None),    # user 3 at T+2d, XX: UTC; no home country
]


def _spine(aware: bool = False):
    import pandas as pd

    times = [T - dt.timedelta(minutes=1), T, T + dt.timedelta(hours=3), T,
             T + dt.timedelta(days=2)]
    txn_ts = [t.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=-3)))
              for t in times] if aware else times
    return pd.DataFrame({
        "row_id": [1, 2, 3, 4, 5],
        "user_id": [1, 1, 1, 2, 3],
        "event_ts": times,
        "amount": [10.0, 15.0, 7.5, 2.0, 0.0],
        "txn_ts": txn_ts,
        "merchant_country": ["FR", "DE", "US", None, "XX"],
    })


def _load(warehouse: Warehouse, dialect: str) -> None:
    types = {**TYPES[dialect], "text": TEXT[dialect]}
    for table, (columns, rows) in {**TABLES, "fs_user__profile": PROFILE}.items():
        warehouse.execute(f"create table {table} ({columns.format(**types)})")
        for row in rows:
            warehouse.execute(f"insert into {table} values ({', '.join('?' * len(row))})",
                              list(row))


@pytest.fixture
def projects(tmp_path, monkeypatch):
    for name in ("FEATURESTORE_TARGET", "DBT_TARGET_PATH", "FEATURESTORE_DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    roots = []
    for name in ("duck", "snow"):
        root = tmp_path / name
        shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
        write_dbt_project(root, name)
        roots.append(root)
    duck = Project(roots[0])
    with Warehouse(duck) as warehouse:
        _load(warehouse, "duckdb")
    return duck, roots[1]


def _by_row(table, columns) -> list[tuple]:
    rows = sorted(table.to_pylist(), key=lambda row: row["row_id"])
    return [tuple(row[c] for c in columns) for row in rows]


def test_on_demand_features_are_computed_in_the_warehouse(projects):
    duck, _ = projects
    built = build_training_set(duck, _spine(), "txn_context")
    assert built.table.column_names == [
        "row_id", "user_id", "event_ts", "amount", "txn_ts", "merchant_country", *ON_DEMAND]
    assert _by_row(built.table, ON_DEMAND) == EXPECTED


def test_an_aware_request_time_is_read_as_its_instant(projects):
    duck, _ = projects
    built = build_training_set(duck, _spine(aware=True), "txn_context:local_hour")
    assert [h for (h,) in _by_row(built.table, ["txn_context__local_hour"])] == [
        12, 13, 10, 12, 12]


def test_inputs_not_asked_for_stay_out_and_the_manifest_names_what_was_read(projects,
                                                                             tmp_path):
    duck, _ = projects
    out = tmp_path / "train.parquet"
    built = build_training_set(duck, _spine(), "txn_context:amount_over_avg_30d,"
                               "user_transactions:txn_count_7d", out=out)
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.column_names == [
        "row_id", "user_id", "event_ts", "amount", "txn_ts", "merchant_country",
        "user_transactions__txn_count_7d", "user_transactions__feature_ts",
        "txn_context__amount_over_avg_30d"]
    assert _by_row(table, ["user_transactions__txn_count_7d",
                           "txn_context__amount_over_avg_30d"]) == [
        (0, None), (5, 3.0), (6, 1.5), (0, None), (0, None)]
    manifest = json.loads((tmp_path / "train.parquet.manifest.json").read_text())
    assert manifest == built.manifest
    views = {v["name"]: v for v in manifest["views"]}
    assert [f["column"] for f in views["user_transactions"]["features"]] == [
        "user_transactions__txn_count_7d"]
    assert views["user_transactions"]["on_demand_inputs"] == ["txn_amount_avg_30d"]
    catalog = duck.catalog()
    (entry,) = manifest["on_demand"]
    assert entry == {
        "name": "txn_context", "version": 1,
        "contract_hash": catalog.on_demand["txn_context"].contract_hash(),
        "request": [{"name": "amount", "dtype": "float64", "nullable": False,
                     "description": "The amount being paid."}],
        "inputs": [{"name": "txn_amount_avg_30d", "ref": "user_transactions:txn_amount_avg_30d",
                    "view": "user_transactions", "version": 1,
                    "feature": "txn_amount_avg_30d"}],
        "features": [{"name": "amount_over_avg_30d",
                      "column": "txn_context__amount_over_avg_30d", "dtype": "float64",
                      "sql": "amount / txn_amount_avg_30d", "null_count": 3}]}
    from featurestore.registry import consumed_views

    with Warehouse(duck) as warehouse:  # the view's meaning is consumed: plan says so
        assert consumed_views(warehouse) == {"user_transactions": "read by a training set",
                                             "txn_context": "read by a training set"}


def test_a_view_read_only_for_inputs_adds_no_column(projects):
    duck, _ = projects
    built = build_training_set(duck, _spine(), "txn_context:is_foreign")
    assert built.table.column_names[-1] == "txn_context__is_foreign"
    assert not [c for c in built.table.column_names if c.startswith("user_profile__")]
    (profile,) = [v for v in built.manifest["views"] if v["name"] == "user_profile"]
    assert (profile["features"], profile["defaulted_rows"], profile["on_demand_inputs"]) == (
        [], None, ["country"])


def test_an_all_null_request_column_reads_as_nulls_of_its_dtype(projects):
    """A frame's column of Nones has no type but NULL (found by the hypothesis test of
    tests/online/test_on_demand_parity.py)."""
    duck, _ = projects
    spine = _spine()
    spine["merchant_country"] = [None] * len(spine)
    built = build_training_set(duck, spine, "txn_context:local_hour,txn_context:is_foreign")
    assert _by_row(built.table, ON_DEMAND[2:]) == [
        (11, None), (12, None), (15, None), (12, None), (12, None)]


def test_a_missing_request_column_is_named(projects):
    duck, _ = projects
    spine = _spine().drop(columns=["merchant_country"])
    with pytest.raises(SpineError) as caught:
        build_training_set(duck, spine, "txn_context:is_foreign")
    assert str(caught.value) == (
        "<pandas.DataFrame>: column `merchant_country` is missing: on-demand view "
        "`txn_context` reads request field `merchant_country` (string). Add it to the spine, "
        "with the value each row was scored with.")


def test_a_null_in_a_request_field_that_is_not_nullable_is_refused(projects):
    duck, _ = projects
    spine = _spine()
    spine.loc[2, "amount"] = None
    with pytest.raises(SpineError) as caught:
        build_training_set(duck, spine, "txn_context:amount_minus_avg_7d")
    assert str(caught.value) == (
        "<pandas.DataFrame>: 1 row(s) have a null `amount`, but request field `amount` is "
        "declared `nullable: false`. Fill them, or drop those rows.")


def test_a_request_column_of_another_type_is_refused(projects):
    duck, _ = projects
    spine = _spine()
    spine["amount"] = spine["amount"].astype(str)
    with pytest.raises(SpineError) as caught:
        build_training_set(duck, spine, "txn_context:amount_minus_avg_7d")
    assert str(caught.value) == (
        "<pandas.DataFrame>: column `amount` has type VARCHAR but request field `amount` of "
        "on-demand view `txn_context` is float64. Store it as float64 in the spine.")


@pytest.mark.slow
def test_validate_lists_the_on_demand_views_of_the_demo(demo_env):
    from click.testing import CliRunner

    from featurestore.apps.cli import cli

    args = ["--project-dir", str(REPO_ROOT), "validate"]
    result = CliRunner().invoke(cli, args, obj={})
    assert (result.exit_code, result.stdout) == (
        0, "OK: 4 feature views, 1 on-demand view (txn_context), 3 entities.\n")
    result = CliRunner().invoke(cli, [*args, "--json"], obj={})
    assert json.loads(result.stdout) == {"ok": True, "views": 4,
                                         "on_demand_views": ["txn_context"], "entities": 3,
                                         "notes": []}


@pytest.mark.slow
def test_on_snowflake_the_same_values_and_only_snowflake_sql(projects, sent, monkeypatch,  # noqa: F811
                                                              tmp_path):
    duck, snow_root = projects
    features = "txn_context,user_transactions:txn_count_7d"
    expected = build_training_set(duck, _spine(), features)
    use_snowflake_target(monkeypatch)
    with on_fakesnow(snow_root, _load) as snow:
        sent.clear()
        build_training_set(snow, _spine(), features, out=tmp_path / "snow.parquet")
    import pyarrow.parquet as pq

    built = pq.read_table(tmp_path / "snow.parquet")
    columns = expected.table.column_names
    assert built.column_names == columns
    assert _by_row(built, columns) == _by_row(expected.table, columns)
    assert _by_row(built, ON_DEMAND) == EXPECTED
    (join,) = [s for s in sent if "match_condition" in s]
    assert "convert_timezone('UTC', " in join
    for statement in sent:
        sqlglot.parse_one(statement, read="snowflake", error_level=ErrorLevel.RAISE)
        assert "asof left join" not in statement.lower()
