"""`featurestore training-set` end to end on the demo warehouse: output, manifest, bad
spines (each with the message a user sees), and no half-written files on failure."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest
from click.testing import CliRunner

from featurestore import training, training_manifest
from featurestore.apps.cli import cli
from featurestore.errors import SpineError

pytestmark = pytest.mark.slow
FEATURES = "user_transactions:txn_count_7d,user_transactions:txn_amount_avg_7d," \
           "merchant_risk:chargeback_rate_30d"


def _spine(demo, path, select: str) -> str:
    """Write ``select`` (over the demo's raw transactions as `t`) to ``path``."""
    raw = demo.raw_file("transactions")
    with duckdb.connect() as con:
        con.execute(f"copy (with t as (select * from read_parquet('{raw}')) {select}) "
                    f"to '{path}'").fetchall()
    return str(path)


@pytest.fixture
def spine(demo_env, tmp_path):
    """Four rows: a real transaction, an unknown user, a time before all data, a duplicate."""
    return _spine(demo_env, tmp_path / "spine.parquet", """
        select * from (
            select 1 as row_no, user_id, merchant_id, transacted_at as event_ts,
                   'real' as kind from t where transaction_id = 1000
            union all select 2, 999999, merchant_id, transacted_at, 'unknown user'
                   from t where transaction_id = 1000
            union all select 3, user_id, merchant_id, timestamp '2020-01-01', 'too early'
                   from t where transaction_id = 1000
            union all select 4, user_id, merchant_id, transacted_at, 'duplicate'
                   from t where transaction_id = 1000
        ) order by row_no""")


def _run(demo, *args):
    return CliRunner().invoke(cli, ["--project-dir", str(demo.root), "training-set", *args])


def test_cli_writes_parquet_and_exact_manifest(demo_env, spine, tmp_path):
    out = tmp_path / "out" / "train.parquet"
    result = _run(demo_env, "--spine", spine, "--features", FEATURES, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"4 rows written to {out} (manifest: {out}.manifest.json)\n"
    assert "training-set: spine: 4 rows, 5 columns" in result.stderr

    with duckdb.connect() as con:
        rows = con.execute(f"select * from read_parquet('{out}') order by row_no").fetchall()
        columns = [r[0] for r in con.execute(f"describe select * from '{out}'").fetchall()]
    assert columns == ["row_no", "user_id", "merchant_id", "event_ts", "kind",
                       "user_transactions__txn_count_7d", "user_transactions__txn_amount_avg_7d",
                       "user_transactions__feature_ts", "merchant_risk__chargeback_rate_30d",
                       "merchant_risk__feature_ts"]
    real, unknown, early, duplicate = rows
    assert (real[1:4], real[5:]) == (duplicate[1:4], duplicate[5:])
    assert real[5] >= 1 and real[7] == real[3]  # the transaction's own row is visible at t
    assert unknown[5:8] == (0, None, None)  # the contract's default 0, then null
    assert early[5:] == (0, None, None, None, None)

    manifest = json.loads((tmp_path / "out" / "train.parquet.manifest.json").read_text())
    project = demo_env.project
    catalog = project.catalog()
    compiled = {v: project.model_node(catalog.views[v].source)["compiled_code"]
                for v in ("user_transactions", "merchant_risk")}
    assert manifest.pop("created_at").endswith("+00:00")
    assert len(manifest.pop("join_sql_sha256")) == 64
    assert manifest == {
        "featurestore_version": "0.1.0",
        "output": {"path": str(out), "rows": 4},
        "spine": {
            "path": spine,
            "sha256": hashlib.sha256(open(spine, "rb").read()).hexdigest(),
            "rows": 4,
            "event_ts": "event_ts",
            "event_ts_timezone": None,
            "columns": [{"name": "row_no", "type": "INTEGER"},
                        {"name": "user_id", "type": "BIGINT"},
                        {"name": "merchant_id", "type": "BIGINT"},
                        {"name": "event_ts", "type": "TIMESTAMP"},
                        {"name": "kind", "type": "VARCHAR"}],
        },
        "known_at_event": False,
        # which view versions it read, kept for `featurestore retire` (docs/versions.md)
        "registry": "recorded in featurestore.training_sets",
        "views": [
            {"name": "user_transactions", "version": 1, "pinned": False,
             "contract_hash": catalog.views["user_transactions"].contract_hash(),
             "relation": '"demo"."main"."fs_user__transactions"',
             "sql_sha256": hashlib.sha256(compiled["user_transactions"].encode()).hexdigest(),
             "sql_source": "compiled_code", "defaulted_rows": 2,
             "features": [
                 {"name": "txn_count_7d", "column": "user_transactions__txn_count_7d",
                  "dtype": "int64", "null_count": 0, "default_count": 2},
                 {"name": "txn_amount_avg_7d",
                  "column": "user_transactions__txn_amount_avg_7d", "dtype": "float64",
                  "null_count": 2, "default_count": 2}]},
            {"name": "merchant_risk", "version": 1, "pinned": False,
             "contract_hash": catalog.views["merchant_risk"].contract_hash(),
             "relation": '"demo"."main"."fs_merchant__risk"',
             "sql_sha256": hashlib.sha256(compiled["merchant_risk"].encode()).hexdigest(),
             "sql_source": "compiled_code", "defaulted_rows": 1,
             "features": [
                 {"name": "chargeback_rate_30d", "column": "merchant_risk__chargeback_rate_30d",
                  "dtype": "float64", "null_count": 1, "default_count": 1}]},
        ],
    }


def test_csv_spine_gives_the_same_rows(demo_env, spine, tmp_path):
    csv = tmp_path / "spine.csv"
    with duckdb.connect() as con:
        con.execute(f"copy (select * from '{spine}') to '{csv}' (header)").fetchall()
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    training.build_training_set(demo_env.project, spine, FEATURES, out=a)
    training.build_training_set(demo_env.project, csv, FEATURES, out=b)
    with duckdb.connect() as con:
        assert con.execute(f"select * from '{a}' order by row_no").fetchall() == con.execute(
            f"select * from '{b}' order by row_no").fetchall()


BAD_SPINES = {
    "missing_key": (
        "select merchant_id, transacted_at as event_ts from t limit 3",
        "column `user_id` is missing; view `user_transactions` joins on entity `user` by "
        "user_id. Add `user_id` (int64) to the spine."),
    "missing_event_ts": (
        "select user_id, merchant_id, transacted_at from t limit 3",
        "column `event_ts` is missing: the spine needs the time each row is scored at. Name "
        "your time column `event_ts`, or pass its name as the event time column "
        "(--event-ts, or event_ts= in the SDK). The spine's columns: `user_id`, "
        "`merchant_id`, `transacted_at`."),
    "string_event_ts": (
        "select user_id, merchant_id, 'yesterday' as event_ts from t limit 3",
        "column `event_ts` has type VARCHAR, not a timestamp. Store it as a timestamp "
        "(Parquet, a DataFrame) or as ISO-8601 text like 2026-05-01 12:00:00 in every row "
        "(CSV)."),
    "string_key": (
        "select 'u-' || user_id as user_id, merchant_id, transacted_at as event_ts "
        "from t limit 3",
        "column `user_id` has type VARCHAR but entity `user` has int64 keys. Store it as an "
        "integer (BIGINT) in the spine."),
    "null_event_ts": (
        "select user_id, merchant_id, case when transaction_id in (2, 3) then null else "
        "transacted_at end as event_ts from t order by transaction_id limit 5",
        "2 row(s) have a null `event_ts` (the first is data row 2). Drop or fill them: every "
        "training row needs the time it is scored at."),
}


@pytest.mark.parametrize("case", sorted(BAD_SPINES))
def test_bad_spine_gets_one_clear_error(demo_env, tmp_path, case):
    select, problem = BAD_SPINES[case]
    path = _spine(demo_env, tmp_path / f"{case}.parquet", select)
    out = tmp_path / "train.parquet"
    result = _run(demo_env, "--spine", path, "--features", FEATURES, "--out", str(out))
    assert result.exit_code == 1
    assert result.output == f"Error: {path}: {problem}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{case}.parquet"]


def test_unsupported_spine_format(demo_env, tmp_path):
    path = tmp_path / "spine.json"
    path.write_text("{}")
    with pytest.raises(SpineError) as caught:
        training.build_training_set(demo_env.project, path, FEATURES,
                                    out=tmp_path / "o.parquet")
    assert str(caught.value) == (f"{path}: unsupported spine format `.json`; write it as "
                                 ".parquet or .csv")


def test_failure_after_the_join_leaves_no_half_file(demo_env, spine, tmp_path, monkeypatch):
    out = tmp_path / "train.parquet"
    out.write_bytes(b"the previous training set")

    def broken(path, columns):
        assert path.exists()  # the join did write its temporary file
        raise OSError("disk full")

    monkeypatch.setattr(training_manifest, "_parquet_counts", broken)
    with pytest.raises(OSError, match="disk full"):
        training.build_training_set(demo_env.project, spine, FEATURES, out=out)
    assert out.read_bytes() == b"the previous training set"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spine.parquet", "train.parquet"]


def test_row_groups_hold_about_61440_rows(demo_env, tmp_path):
    """DuckDB's writer holds a row group per thread in memory until it is written: half
    its default keeps a training set's peak lower (dialects/duckdb.py,
    TRAINING_ROW_GROUP_ROWS); every row is still there. DuckDB fills a group by whole
    vectors of 2,048 rows, so one may pass the target by less than a vector. A million
    rows: with DuckDB's default, each of up to 8 threads' groups would pass it."""
    spine = _spine(demo_env, tmp_path / "big_spine.parquet", """
        select user_id, transacted_at as event_ts, i as row_no
        from (select * from t limit 100) as t, range(10000) as r(i)""")
    out = tmp_path / "train.parquet"
    training.build_training_set(demo_env.project, spine, "user_profile:country", out=out)
    with duckdb.connect() as con:
        groups = [rows for (rows,) in con.execute(
            f"select row_group_num_rows from parquet_metadata('{out}') "
            "group by row_group_id, row_group_num_rows").fetchall()]
    assert sum(groups) == 1_000_000
    assert max(groups) < 61_440 + 2_048, groups


def test_known_at_event_is_recorded(demo_env, spine, tmp_path):
    manifest = training.build_training_set(demo_env.project, spine, "user_profile:country",
                                           out=tmp_path / "t.parquet",
                                           known_at_event=True).manifest
    assert manifest["known_at_event"] is True
    assert [v["name"] for v in manifest["views"]] == ["user_profile"]


def test_an_aware_spine_gives_the_naive_rows_in_its_own_form(demo_env, spine, tmp_path):
    """The same instants in another zone (CLI, Parquet) and as a DataFrame (SDK): the
    rows of the naive spine, with event_ts and every <view>__feature_ts aware, in UTC."""
    import pyarrow.parquet as pq

    from featurestore.apps.sdk import FeatureStore

    aware = tmp_path / "aware.parquet"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'Asia/Kolkata'")
        con.execute(f"copy (select * replace (timezone('UTC', event_ts) as event_ts) "
                    f"from '{spine}') to '{aware}'").fetchall()
    naive_out, aware_out = tmp_path / "naive.parquet", tmp_path / "aware_out.parquet"
    training.build_training_set(demo_env.project, spine, FEATURES, out=naive_out)
    built = training.build_training_set(demo_env.project, aware, FEATURES, out=aware_out)
    assert built.manifest["spine"]["event_ts_timezone"] == "UTC"
    naive_table, aware_table = pq.read_table(naive_out), pq.read_table(aware_out)
    for column in ("event_ts", "user_transactions__feature_ts", "merchant_risk__feature_ts"):
        assert str(aware_table.schema.field(column).type) == "timestamp[us, tz=UTC]"
        assert str(naive_table.schema.field(column).type) == "timestamp[us]"

    def rows(table):
        return sorted(
            tuple(v.replace(tzinfo=None) if hasattr(v, "tzinfo") and v.tzinfo else v
                  for v in row.values()) for row in table.to_pylist())

    assert rows(aware_table) == rows(naive_table)
    frame = aware_table.select(["row_no", "user_id", "merchant_id", "event_ts", "kind"])
    berlin = frame.to_pandas()
    berlin["event_ts"] = berlin["event_ts"].dt.tz_convert("Europe/Berlin")
    from_sdk = FeatureStore(demo_env.root).training_set(berlin, FEATURES)
    assert rows(from_sdk) == rows(naive_table)
    assert str(from_sdk.schema.field("event_ts").type).startswith("timestamp[")
    assert from_sdk.schema.field("event_ts").type.tz is not None
