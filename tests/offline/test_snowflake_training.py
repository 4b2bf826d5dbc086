"""Training sets on the Snowflake target, as far as this machine can prove them.

No Snowflake account is reachable here, so the proof has three parts:

- plumbing: fakesnow (the connector, backed by DuckDB) carries the whole path (spine
  upload with the connector's write_pandas, column checks, the join, the result streamed
  back as Arrow into Parquet, the manifest), and the result equals the DuckDB target's;
- the SQL: every statement sent parses with sqlglot's Snowflake dialect, and none is
  DuckDB-only (no COPY, read_parquet or ASOF LEFT JOIN);
- the join sent is exactly the SQL dbt compiles for the snowflake target.

fakesnow rejects ASOF JOIN ... MATCH_CONDITION, which real Snowflake runs; the test
shim below rewrites that one construct into DuckDB's ASOF LEFT JOIN just before fakesnow
executes it (after the statement was recorded), the same rewrite the property tests use.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from featurestore.dialects.snowflake import Snowflake
from featurestore.project import Project
from featurestore.training import build_training_set
from featurestore.warehouse import Warehouse
from tests.conftest import REPO_ROOT, write_dbt_project
from tests.offline.conftest import on_fakesnow, use_snowflake_target
from tests.offline.test_pit_property import snowflake_asof_to_duckdb

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]

T = dt.datetime(2026, 1, 1, 12)
FEATURES = "user_transactions:txn_count_7d,user_transactions:last_txn_amount,merchant_risk"
TABLES = {
    "fs_user__transactions": (
        "user_id {int}, feature_ts {ts}, loaded_at {ts}, txn_count_1h {int}, "
        "txn_count_7d {int}, txn_count_30d {int}, txn_amount_sum_1h {float}, "
        "txn_amount_sum_7d {float}, txn_amount_sum_30d {float}, txn_amount_avg_7d {float}, "
        "txn_amount_avg_30d {float}, last_txn_amount {float}",
        [(1, T, T, 1, 5, 9, 1.0, 2.0, 3.0, 4.0, 5.0, 6.5),
         (1, T + dt.timedelta(hours=2), T + dt.timedelta(days=1), 2, 6, 10, 1.0, 2.0, 3.0,
          None, 5.0, 7.5),
         (2, T - dt.timedelta(days=40), T - dt.timedelta(days=40), 1, 1, 1, 1.0, 1.0, 1.0,
          1.0, 1.0, 1.0)]),
    "fs_merchant__risk": (
        "merchant_id {int}, feature_ts {ts}, loaded_at {ts}, txn_count_7d {int}, "
        "chargeback_count_30d {int}, chargeback_rate_30d {float}",
        [(10, T - dt.timedelta(hours=1), T, 40, 2, 0.05)]),
}
TYPES = {"snowflake": {"int": "number(38,0)", "ts": "timestamp_ntz", "float": "float"},
         "duckdb": {"int": "bigint", "ts": "timestamp", "float": "double"}}


def _spine():
    import pandas as pd

    return pd.DataFrame({
        "user_id": [1, 1, 1, 2, 3],
        "merchant_id": [10, 10, 11, 10, 10],
        "event_ts": [T - dt.timedelta(minutes=1), T, T + dt.timedelta(hours=3),
                     T, T + dt.timedelta(days=2)],
        "label": [0, 1, 0, 1, 0],
    })


def _load(warehouse: Warehouse, dialect: str) -> None:
    for table, (columns, rows) in TABLES.items():
        warehouse.execute(f"create table {table} ({columns.format(**TYPES[dialect])})")
        for row in rows:
            warehouse.execute(f"insert into {table} values ({', '.join('?' * len(row))})",
                              list(row))


@pytest.fixture
def projects(tmp_path, monkeypatch):
    """(duckdb project, snowflake project): the repo's contracts, no dbt manifest."""
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
    use_snowflake_target(monkeypatch)
    return duck, roots[1]


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Every statement featurestore sends to Snowflake, as sent."""
    statements: list[str] = []
    execute = Snowflake.execute

    def recording(self, connection, sql, params):
        statements.append(sql)
        runnable = snowflake_asof_to_duckdb(sql) if "match_condition" in sql else sql
        return execute(self, connection, runnable, params)

    monkeypatch.setattr(Snowflake, "execute", recording)
    return statements


def _rows(path) -> list[tuple]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return sorted(tuple(row.values()) for row in table.to_pylist())


def test_training_set_on_snowflake_equals_duckdb_and_sends_only_snowflake_sql(
        projects, sent, tmp_path):
    duck, snow_root = projects
    expected = build_training_set(duck, _spine(), FEATURES, out=tmp_path / "duck.parquet")
    with on_fakesnow(snow_root, _load) as snow:
        sent.clear()
        built = build_training_set(snow, _spine(), FEATURES, out=tmp_path / "snow.parquet")

    assert _rows(tmp_path / "snow.parquet") == _rows(tmp_path / "duck.parquet")
    import pyarrow.parquet as pq

    assert pq.read_schema(tmp_path / "snow.parquet").names == [
        "user_id", "merchant_id", "event_ts", "label", "user_transactions__txn_count_7d",
        "user_transactions__last_txn_amount", "user_transactions__feature_ts",
        "merchant_risk__txn_count_7d", "merchant_risk__chargeback_count_30d",
        "merchant_risk__chargeback_rate_30d", "merchant_risk__feature_ts"]
    manifest = json.loads((tmp_path / "snow.parquet.manifest.json").read_text())
    assert manifest["output"]["rows"] == 5
    assert [v["relation"] for v in manifest["views"]] == [
        '"FS"."FS_USER__TRANSACTIONS"', '"FS"."FS_MERCHANT__RISK"']
    assert [(f["column"], f["null_count"]) for v in manifest["views"]
            for f in v["features"]] == [
        (f["column"], f["null_count"]) for v in expected.manifest["views"]
        for f in v["features"]]
    assert manifest == built.manifest

    join = [s for s in sent if "match_condition" in s]
    assert len(join) == 1 and join[0].count("match_condition") == 2
    for statement in sent:
        sqlglot.parse_one(statement, read="snowflake", error_level=ErrorLevel.RAISE)
        lowered = statement.lower()
        assert "read_parquet" not in lowered and "copy " not in lowered
        assert "asof left join" not in lowered


def test_the_join_sent_is_the_join_dbt_compiles(projects, sent, pit_project, tmp_path):
    """dbt, on its snowflake target (through fakesnow), compiles as_of_join_specs for the
    specs the CLI built; the CLI sent exactly that SQL."""
    from dbt.cli.main import dbtRunner

    from featurestore.feature_refs import resolve
    from featurestore.spine import SPINE_RELATION
    from featurestore.training import view_specs

    _duck, snow_root = projects
    with on_fakesnow(snow_root, _load) as snow:
        with Warehouse(snow) as warehouse:
            specs = view_specs(warehouse, resolve(snow.catalog(), FEATURES))
        sent.clear()
        build_training_set(snow, _spine(), FEATURES, out=tmp_path / "snow.parquet")
        (join,) = [s for s in sent if "match_condition" in s]
        snippet = ("{{ featurestore.as_of_join_specs('\"" + SPINE_RELATION.upper() + "\"', "
                   f"fromjson({json.dumps(specs)!r})) }}}}")
        result = dbtRunner().invoke([
            "compile", "--inline", snippet, "--target", "snowflake", "--no-populate-cache",
            "--project-dir", str(pit_project.root), "--profiles-dir", str(pit_project.root),
            "--target-path", str(tmp_path / "target"), "--quiet"])
    assert result.success, result.exception
    compiled = result.result.results[0].node.compiled_code
    assert compiled.strip() == join.strip()


SERVICE = """\
name: scored
version: 1
entity: user
description: Two features of user_transactions, transformed.
features:
  - user_transactions:txn_count_7d
  - user_transactions:last_txn_amount
transformations:
  - {feature: user_transactions:txn_count_7d, kind: quantile_bins, bins: 2}
  - {feature: user_transactions:last_txn_amount, kind: zscore}
  - {feature: user_transactions:txn_count_7d, kind: index, max_categories: 2}
"""


def test_a_service_training_set_on_snowflake_equals_duckdb(projects, sent, tmp_path):
    """A feature service's set on the Snowflake target: the same rows, transformed
    columns and frozen parameters as on DuckDB, the parameter statements in Snowflake's
    SQL."""
    from featurestore.feature_services.freeze import build_service_training_set
    from featurestore.feature_services.param_registry import parameter_sets

    duck, snow_root = projects
    for root in (duck.root, snow_root):
        (root / "feature_services").mkdir()
        (root / "feature_services" / "scored.yml").write_text(SERVICE)
    expected = build_service_training_set(duck, _spine(), "scored",
                                          out=tmp_path / "duck.parquet")
    with on_fakesnow(snow_root, _load) as snow:
        sent.clear()
        built = build_service_training_set(snow, _spine(), "scored",
                                           out=tmp_path / "snow.parquet")
        with Warehouse(snow) as warehouse:
            (snow_set,) = parameter_sets(warehouse)
    with Warehouse(duck) as warehouse:
        (duck_set,) = parameter_sets(warehouse)
    assert _rows(tmp_path / "snow.parquet") == _rows(tmp_path / "duck.parquet")
    import pyarrow.parquet as pq

    assert pq.read_schema(tmp_path / "snow.parquet").names == [
        "user_id", "merchant_id", "event_ts", "label", "user_transactions__txn_count_7d",
        "user_transactions__last_txn_amount", "user_transactions__feature_ts",
        "user_transactions__txn_count_7d__quantile_bins",
        "user_transactions__last_txn_amount__zscore", "user_transactions__txn_count_7d__index"]
    # the same parameters; the sets' hashes differ by the join's SQL they record
    assert snow_set.document["transformations"] == duck_set.document["transformations"]
    # txn_count_7d over the five rows: 0 (none yet), 5, 6, 0 (expired), 0 (no rows):
    # the median's nearest rank is 3 of 5, a 0
    assert snow_set.document["transformations"][0]["params"] == {
        "count": 5, "bins": 2, "ranks": [3], "edges": [0]}
    assert built.manifest["service"]["parameters_sha256"] == snow_set.sha256
    assert expected.manifest["service"]["parameters_sha256"] == duck_set.sha256
    parameters = [s for s in sent if "row_number() over (order by v)" in s
                  or "stddev_pop" in s or "group by v" in s]
    assert len(parameters) == 3  # the aggregates, the bins' ranks, the vocabulary
    for statement in sent:
        sqlglot.parse_one(statement, read="snowflake", error_level=ErrorLevel.RAISE)
        assert "read_parquet" not in statement.lower()
