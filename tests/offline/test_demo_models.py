"""The demo's dbt models on the built demo warehouse: contract-exact columns, and values
that match a brute-force computation from the raw Parquet files."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from featurestore.dialects.duckdb import DuckDB

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def con(demo_project):
    connection = duckdb.connect(str(demo_project.duckdb_path), read_only=True)
    yield connection
    connection.close()


def _raw(demo_project, table: str) -> str:
    return f"read_parquet('{demo_project.raw_file(table)}')"


def test_feature_models_have_exactly_the_contract_columns(demo_project, con):
    catalog = demo_project.project.catalog()
    got, expected = {}, {}
    for view in catalog.views.values():
        got[view.name] = [(r[0], r[1]) for r in con.execute(f"describe {view.source}").fetchall()]
        columns = [(k.name, DuckDB.type_names[k.dtype]) for k in view.entity.join_keys]
        columns.append((view.timestamp, "TIMESTAMP"))
        if view.created_timestamp:
            columns.append((view.created_timestamp, "TIMESTAMP"))
        columns += [(f.name, DuckDB.type_names[f.dtype]) for f in view.features]
        expected[view.name] = columns
    assert got == expected


def test_user_transactions_match_brute_force_for_the_busiest_user(demo_project, con):
    txns = _raw(demo_project, "transactions")
    horizon = con.execute(f"select max(transacted_at) from {txns}").fetchall()[0][0]
    user = con.execute(f"select user_id from {txns} group by 1 order by count(*) desc, 1 "
                       "limit 1").fetchall()[0][0]
    events = con.execute(f"select transacted_at, amount, transaction_id from {txns} "
                         f"where user_id = {user}").fetchall()
    windows = [dt.timedelta(hours=1), dt.timedelta(days=7), dt.timedelta(days=30)]
    points = {e[0] for e in events} | {e[0] + w for e in events for w in windows}
    expected = []
    for t in sorted(p for p in points if p <= horizon):
        counts = [sum(1 for e in events if t - w < e[0] <= t) for w in windows]
        month = [e[1] for e in events if t - windows[2] < e[0] <= t]
        last = max((e for e in events if e[0] <= t), key=lambda e: (e[0], e[2]))
        expected.append((t, *counts, round(sum(month), 6), last[1]))
    got = con.execute(
        "select feature_ts, txn_count_1h, txn_count_7d, txn_count_30d, "
        "round(txn_amount_sum_30d, 6), last_txn_amount from fs_user__transactions "
        f"where user_id = {user} order by feature_ts").fetchall()
    assert len(events) >= 30
    assert got == expected


def test_merchant_chargebacks_count_from_filing_time(demo_project, con):
    txns, cbs = _raw(demo_project, "transactions"), _raw(demo_project, "chargebacks")
    merchant = con.execute(f"select merchant_id from {cbs} join {txns} using (transaction_id) "
                           "group by 1 order by count(*) desc, 1 limit 1").fetchall()[0][0]
    filed = [r[0] for r in con.execute(f"select filed_at from {cbs} join {txns} using "
                                       f"(transaction_id) where merchant_id = {merchant}"
                                       ).fetchall()]
    rows = con.execute("select feature_ts, chargeback_count_30d, chargeback_rate_30d, "
                       f"txn_count_7d from fs_merchant__risk where merchant_id = {merchant} "
                       "order by feature_ts").fetchall()
    month = dt.timedelta(days=30)
    assert [r[1] for r in rows] == [sum(1 for f in filed if t - month < f <= t)
                                    for t, *_ in rows]
    assert any(r[1] > 0 for r in rows)
    assert all(r[3] >= 0 for r in rows)


def test_rolling_views_stop_at_the_data_horizon(demo_project, con):
    txns = _raw(demo_project, "transactions")
    horizon = con.execute(f"select max(transacted_at) from {txns}").fetchall()[0][0]
    newest = con.execute("select max(feature_ts) from fs_user__transactions union all "
                         "select max(feature_ts) from fs_merchant__risk").fetchall()
    assert [r[0] for r in newest] == [horizon, horizon]


def test_empty_windows_give_zero_counts_and_null_averages(con):
    got = con.execute(
        "select count(*), count(*) filter (where txn_amount_sum_1h = 0 and "
        "txn_amount_avg_7d is null and txn_count_7d = 0), count(*) filter (where "
        "txn_count_1h is null or txn_amount_sum_7d is null or last_txn_amount is null) "
        "from fs_user__transactions where txn_count_7d = 0").fetchall()[0]
    assert got[0] > 0 and got[1] == got[0] and got[2] == 0


def test_device_and_profile_rows(demo_project, con):
    txns, updates = _raw(demo_project, "transactions"), _raw(demo_project, "profile_updates")
    assert con.execute(
        "select count(*) from fs_user_device__seen").fetchall()[0][0] == con.execute(
        f"select count(distinct (user_id, device_id, transacted_at)) from {txns}"
    ).fetchall()[0][0]
    last = con.execute(
        "select device_txn_count from fs_user_device__seen qualify row_number() over "
        "(partition by user_id, device_id order by feature_ts desc) = 1").fetchall()
    assert sum(r[0] for r in last) == demo_project.rows["transactions"]
    assert con.execute("select count(*) from fs_user__profile").fetchall()[0][0] == (
        con.execute(f"select count(*) from {updates}").fetchall()[0][0])


def test_fraud_training_set_has_one_row_per_transaction(demo_project, con):
    got = con.execute("select count(*), count(*) filter (where is_fraud), "
                      "count(distinct transaction_id) from fraud_training_set").fetchall()[0]
    assert got == (demo_project.rows["transactions"], demo_project.rows["chargebacks"],
                   demo_project.rows["transactions"])
    columns = [r[0] for r in con.execute("describe fraud_training_set").fetchall()]
    assert columns[:7] == ["transaction_id", "user_id", "merchant_id", "device_id", "amount",
                           "event_ts", "is_fraud"]
    assert [c for c in columns if c.endswith("__feature_ts")] == [
        "user_transactions__feature_ts", "merchant_risk__feature_ts",
        "user_profile__feature_ts", "device_seen_before__feature_ts"]
