"""Freshness and quality gates, each proven to pass on clean data and fail on bad data."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.gates.conftest import AS_OF, END


def _row(output: str, suite: str, view: str, expectation: str) -> list[str]:
    """The printed table row of one expectation, split into its cells."""
    for line in output.splitlines():
        cells = line.split()
        if cells[:3] == [suite, view, expectation.split()[0]] or line.startswith(
                f"{suite}  ") and f"  {view}  " in line and f"  {expectation}  " in line:
            return [c.strip() for c in line.split("  ") if c.strip()]
    raise AssertionError(f"no row for {suite}/{view}/{expectation} in:\n{output}")


def test_clean_tables_pass_freshness_and_quality(gate_project):
    result = gate_project.gate("--suite", "freshness", "--suite", "quality", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert _row(result.output, "freshness", "user_transactions", "freshness_lag_seconds") == [
        "freshness", "user_transactions", "freshness_lag_seconds", "600",
        "<= 3600 s (freshness_slo)", "pass"]
    assert _row(result.output, "quality", "user_profile", "values(signup_channel)")[-1] == "pass"
    docs = gate_project.root / "target" / "gates" / "data_docs" / "index.html"
    assert f"Data Docs: {docs}" in result.output
    assert docs.exists()
    assert " 0 failed " in result.output


def test_stale_view_fails_freshness(gate_project):
    gate_project.sql("update fs_user__transactions set feature_ts = feature_ts - interval "
                     "'3 hours'")
    result = gate_project.gate("--view", "user_transactions", "--suite", "freshness",
                               "--as-of", AS_OF)
    assert result.exit_code == 2
    assert _row(result.output, "freshness", "user_transactions", "freshness_lag_seconds") == [
        "freshness", "user_transactions", "freshness_lag_seconds", "11400",
        "<= 3600 s (freshness_slo)", "FAIL"]
    assert ("Error: gate failed: freshness/user_transactions: freshness_lag_seconds observed "
            "11400, threshold <= 3600 s (freshness_slo)") in result.output


def test_as_of_judges_freshness_at_that_moment(gate_project):
    # Half an hour after END the newest row is 40 minutes old: within the 1 h SLO.
    later = (END + dt.timedelta(minutes=30)).isoformat() + "Z"
    result = gate_project.gate("--view", "user_transactions", "--suite", "freshness",
                               "--as-of", later)
    assert result.exit_code == 0
    assert _row(result.output, "freshness", "user_transactions",
                "freshness_lag_seconds")[3] == "2400"
    # Two hours later it is not.
    result = gate_project.gate("--view", "user_transactions", "--suite", "freshness",
                               "--as-of", (END + dt.timedelta(hours=2)).isoformat())
    assert result.exit_code == 2


def test_null_burst_fails_completeness(gate_project):
    # 3 users in 10 lose last_txn_amount on every row: a null rate of exactly 0.3 > 0.
    gate_project.sql("update fs_user__transactions set last_txn_amount = null "
                     "where user_id % 10 < 3")
    result = gate_project.gate("--view", "user_transactions", "--suite", "quality")
    assert result.exit_code == 2
    assert _row(result.output, "quality", "user_transactions", "null_rate(last_txn_amount)") == [
        "quality", "user_transactions", "null_rate(last_txn_amount)", "0.3",
        "<= 0 (max_null_rate)", "FAIL"]
    assert "quality/user_transactions: null_rate(last_txn_amount) observed 0.3" in result.output
    # the features with max_null_rate 0.9 and 10% nulls still pass
    assert _row(result.output, "quality", "user_transactions",
                "null_rate(txn_amount_avg_7d)")[3:] == ["0.1", "<= 0.9 (max_null_rate)", "pass"]


@pytest.mark.parametrize(
    ("statement", "expectation", "observed", "threshold"),
    [
        ("insert into fs_user__profile select * from fs_user__profile where user_id = 7",
         "duplicates(user_id, feature_ts)", "3", "<= 0"),
        ("update fs_user__profile set kyc_level = 5 where user_id = 3",
         "max(kyc_level)", "5", "<= 3 (max)"),
        ("update fs_user__profile set signup_channel = 'fax' where user_id = 3",
         "values(signup_channel)", "fax", "in web, ios, android, partner"),
        ("alter table fs_user__profile alter kyc_level type varchar",
         "dtype(kyc_level)", "VARCHAR", "a int64 column type"),
        ("update fs_user__profile set user_id = null where user_id = 1",
         "null_rate(user_id)", "0.005", "<= 0"),
    ],
)
def test_bad_rows_fail_their_quality_expectation(gate_project, statement, expectation,
                                                 observed, threshold):
    gate_project.sql(statement)
    result = gate_project.gate("--view", "user_profile", "--suite", "quality")
    assert result.exit_code == 2, result.output
    assert _row(result.output, "quality", "user_profile", expectation) == [
        "quality", "user_profile", expectation, observed, threshold, "FAIL"]
    failed = [line for line in result.output.splitlines() if line.endswith("FAIL")]
    assert len(failed) == 1, failed


def test_results_are_recorded_and_history_prints_the_trend(gate_project):
    assert gate_project.gate("--view", "user_transactions", "--suite", "freshness",
                             "--as-of", AS_OF).exit_code == 0
    gate_project.sql("update fs_user__transactions set feature_ts = feature_ts - interval "
                     "'3 hours'")
    assert gate_project.gate("--view", "user_transactions", "--suite", "freshness",
                             "--as-of", AS_OF).exit_code == 2
    rows = gate_project.sql(
        'select suite, view, expectation, observed, observed_value, threshold, passed '
        'from "featurestore".featurestore.gate_results order by run_at, passed desc')
    assert rows == [
        ("freshness", "user_transactions", "freshness_lag_seconds", "600", 600.0,
         "<= 3600 s (freshness_slo)", True),
        ("freshness", "user_transactions", "freshness_lag_seconds", "11400", 11400.0,
         "<= 3600 s (freshness_slo)", False),
    ]
    history = gate_project.gate("--history", "user_transactions")
    assert history.exit_code == 0
    assert "gate history of `user_transactions`, 2 run(s), oldest first:" in history.output
    trend = [line for line in history.output.splitlines() if "freshness_lag_seconds" in line]
    assert trend == ["freshness  freshness_lag_seconds  <= 3600 s (freshness_slo)  "
                     "600 -> 11400 FAIL"]


def test_history_of_an_unknown_view_names_it(gate_project):
    result = gate_project.gate("--history", "user_transaction")
    assert result.exit_code == 1
    assert ("feature_defs/: no feature view named `user_transaction` (did you mean "
            "`user_transactions`?)") in result.output


def test_gate_views_for_sync_reports_per_view(gate_project):
    from featurestore.gates.publish import gate_views_for_sync

    gate_project.sql("update fs_merchant__risk set txn_count_7d = -1 where merchant_id = 2")
    project = gate_project.project
    catalog = project.catalog()
    views = [catalog.view("merchant_risk"), catalog.view("user_profile")]
    with gate_project.warehouse() as warehouse:
        outcomes = gate_views_for_sync(project, warehouse, views, as_of=END)
    assert sorted(outcomes) == ["merchant_risk", "user_profile"]
    assert outcomes["user_profile"].passed is True
    assert outcomes["user_profile"].failures == []
    assert outcomes["merchant_risk"].passed is False
    assert outcomes["merchant_risk"].failures == [
        "quality/merchant_risk: min(txn_count_7d) observed -1, threshold >= 0 (min)"]


def test_missing_table_is_a_clear_error(gate_project):
    gate_project.sql("drop table fs_merchant__risk")
    result = gate_project.gate("--view", "merchant_risk", "--suite", "quality")
    assert result.exit_code == 1
    assert ('Error: relation "main"."fs_merchant__risk" does not exist in the warehouse. '
            "Build it: `featurestore build`.") in result.output


def test_gate_json_lists_every_check(gate_project):
    import json

    result = gate_project.gate("--view", "user_transactions", "--suite", "freshness",
                               "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["passed"] is True
    assert document["checks"] == [{
        "suite": "freshness", "view": "user_transactions",
        "expectation": "freshness_lag_seconds", "observed": "600", "observed_value": 600.0,
        "threshold": "<= 3600 s (freshness_slo)", "passed": True}]
