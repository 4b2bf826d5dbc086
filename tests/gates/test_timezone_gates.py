"""Gates and column checks over feature models with TIMESTAMP WITH TIME ZONE columns.

The feature tables of tests/gates/conftest.py, their timestamps turned into TIMESTAMPTZ
(same instants). featurestore's own connections run in UTC; the direct calls here run
in an Asia/Kolkata session, as another client's might, to prove that no comparison
with a naive UTC literal lets the session's zone in.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from featurestore.gates.freshness import freshness_metrics
from featurestore.gates.parity import sample_sql
from featurestore.model_check import check_built_models
from tests.gates.conftest import AS_OF, END
from tests.gates.test_quality_gates import _row

AWARE = {
    "fs_user__transactions": ("feature_ts", "loaded_at"),
    "fs_user__profile": ("feature_ts", "loaded_at", "signed_up_at"),
}


@pytest.fixture
def aware_project(gate_project):
    with gate_project.warehouse() as warehouse:
        for table, columns in AWARE.items():
            replace = ", ".join(f"timezone('UTC', {c}) as {c}" for c in columns)
            warehouse.execute(f"create or replace table {table} as "
                              f"select * replace ({replace}) from {table}")
        types = warehouse.columns("fs_user__profile")
    assert types["signed_up_at"] == "TIMESTAMP WITH TIME ZONE"
    return gate_project


def test_aware_tables_pass_the_column_checks(aware_project):
    project = aware_project.project
    assert check_built_models(project, project.catalog()) == ([], [])


def test_aware_tables_pass_freshness_and_quality(aware_project):
    result = aware_project.gate("--suite", "freshness", "--suite", "quality",
                               "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert _row(result.output, "freshness", "user_transactions", "freshness_lag_seconds") == [
        "freshness", "user_transactions", "freshness_lag_seconds", "600",
        "<= 3600 s (freshness_slo)", "pass"]
    assert _row(result.output, "quality", "user_profile", "dtype(signed_up_at)")[3:] == [
        "TIMESTAMP WITH TIME ZONE", "a timestamp column type", "pass"]


@contextlib.contextmanager
def kolkata_session(project):
    """featurestore's warehouse connection, its session moved to Asia/Kolkata."""
    with project.warehouse() as warehouse:
        warehouse.execute("set TimeZone = 'Asia/Kolkata'")
        yield warehouse


def test_freshness_compares_an_aware_feature_ts_by_instant(aware_project):
    view = aware_project.project.catalog().views["user_transactions"]
    with kolkata_session(aware_project) as warehouse:
        assert freshness_metrics(warehouse, view, END) == {"freshness_lag_seconds": 600.0}
        # one second before the newest row (END - 10 min) is due, the one an hour older
        # is the newest: 5:30 of session offset would pick another row
        just_before = END - dt.timedelta(minutes=10, seconds=1)
        assert freshness_metrics(warehouse, view, just_before) == {
            "freshness_lag_seconds": 3599.0}


def test_parity_sample_reads_the_row_visible_at_the_instant(aware_project):
    view = aware_project.project.catalog().views["user_transactions"]
    just_before = END - dt.timedelta(minutes=10, seconds=1)
    with kolkata_session(aware_project) as warehouse:
        rows = warehouse.fetch_arrow(sample_sql(warehouse, view, 5, just_before)).to_pylist()
    assert len(rows) == 5
    newest = END - dt.timedelta(minutes=70)
    assert {row["feature_ts"].astimezone(dt.UTC).replace(tzinfo=None) for row in rows} == {
        newest}


@pytest.mark.slow
def test_sync_publishes_aware_rows_at_their_instant_and_parity_holds(
        gate_project, dynamodb_table, dynamodb_local, monkeypatch):
    from click.testing import CliRunner

    from bench.feature_tables import create_feature_tables
    from featurestore.apps.cli import cli
    from featurestore.online.items import decode_item, entity_pk, view_sk

    client, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with gate_project.warehouse() as warehouse:  # fresh now: the sync gates as of now
        create_feature_tables(warehouse.connection, now)
        columns = AWARE["fs_user__profile"]
        replace = ", ".join(f"timezone('UTC', {c}) as {c}" for c in columns)
        warehouse.execute("create or replace table fs_user__profile as "
                          f"select * replace ({replace}) from fs_user__profile")
        [(feature_ts, signed_up_at)] = warehouse.fetch_all(
            "select feature_ts, signed_up_at from fs_user__profile where user_id = 7 "
            "order by feature_ts desc limit 1")
    assert feature_ts.tzinfo is not None

    def sync():
        return CliRunner().invoke(cli, ["--project-dir", str(gate_project.root), "sync",
                                        "--view", "user_profile"],
                                  obj={}, catch_exceptions=False)

    result = sync()
    assert result.exit_code == 0, result.output
    view = gate_project.project.catalog().views["user_profile"]
    item = client.get_item(TableName=table, Key={
        "pk": {"S": entity_pk(view.entity, {"user_id": 7})}, "sk": {"S": view_sk(view)}})
    online_ts, values = decode_item(view, item["Item"])
    assert online_ts == feature_ts.astimezone(dt.UTC).replace(tzinfo=None)
    assert values["signed_up_at"] == signed_up_at.astimezone(dt.UTC).replace(tzinfo=None)
    parity = gate_project.gate("--view", "user_profile", "--suite", "parity")
    assert parity.exit_code == 0, parity.output
    assert "parity/user_profile: 200 entities compared" in parity.output
    assert sync().exit_code == 0  # incremental, from the watermark of an aware loaded_at
