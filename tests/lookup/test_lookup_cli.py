"""The CLI commands, the serving-log dbt source, and reads that DynamoDB leaves unprocessed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.lookup import service
from tests.lookup.lookup_testkit import REPO_ROOT, seed
from tests.online_stores import store_for


def test_lookup_command_prints_the_vector(dynamodb_local, dynamodb_table, catalog,
                                          monkeypatch):
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [{
        "user_id": 42, "feature_ts": dt.datetime(2026, 5, 22, 17, 40), "txn_count_7d": 14}])
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    args = ["--project-dir", str(REPO_ROOT), "lookup", "user", "42", "--features",
            "user_transactions:txn_count_7d,user_profile:email_domain",
            "--at", "2026-05-22T18:00:00Z"]
    result = CliRunner().invoke(cli, [*args, "--json"], obj={})
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"online store: DynamoDB Local at {dynamodb_local}, table "
                             f"{table}\n")
    assert json.loads(result.stdout) == {"results": [{
        "entity": "user", "key": {"user_id": 42}, "features": {
            "user_transactions:txn_count_7d": {"value": 14, "feature_ts": "2026-05-22T17:40:00Z",
                                               "age_seconds": 1200, "status": "PRESENT"},
            "user_profile:email_domain": {"value": None, "feature_ts": None,
                                          "status": "MISSING"}}}], "degraded": False}
    text = CliRunner().invoke(cli, args, obj={})
    assert text.stdout.splitlines() == [
        "feature                         value  status   feature_ts",
        "------------------------------  -----  -------  --------------------",
        "user_transactions:txn_count_7d  14     PRESENT  2026-05-22T17:40:00Z",
        "user_profile:email_domain       null   MISSING  -",
    ]


def test_lookup_command_names_a_bad_key(dynamodb_local, monkeypatch):
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    result = CliRunner().invoke(cli, ["--project-dir", str(REPO_ROOT), "lookup",
                                      "user_device", "42", "-f", "device_seen_before"], obj={})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: entity `user_device` has keys user_id, device_id: write "
        "user_id=VALUE,device_id=VALUE")


def test_package_lambda_command_writes_the_zip(tmp_path):
    output = tmp_path / "out" / "lookup.zip"
    result = CliRunner().invoke(cli, ["--project-dir", str(REPO_ROOT), "package-lambda",
                                      "-o", str(output)], obj={})
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())
        snapshot = json.loads(archive.read("featurestore/lookup/registry.json"))
    assert {"featurestore/lookup/handler.py", "featurestore/lookup/service.py",
            "featurestore/contracts/__init__.py", "featurestore/contracts/load.py",
            "featurestore/online/items.py",
            "featurestore/settings.py", "yaml/__init__.py"} <= names
    assert not [n for n in names if n.endswith(".so")]
    # the Lambda needs neither the CLI nor the sync, the gates or the warehouse dialects
    assert not [n for n in names if n.startswith(("apps/cli/", "featurestore/sync/",
                                                  "featurestore/gates/",
                                                  "featurestore/dialects/"))]
    assert "featurestore/lookup/__pycache__/handler.cpython-311.pyc" in names
    assert sorted(snapshot["views"]) == ["device_seen_before", "merchant_risk", "user_profile",
                                         "user_transactions"]
    assert snapshot["views"]["user_transactions"]["ttl_seconds"] == 30 * 86400


@pytest.mark.parametrize("command", ["serve", "lookup", "package-lambda"])
def test_commands_have_help_with_an_example(command):
    result = CliRunner().invoke(cli, [command, "--help"], obj={})
    assert result.exit_code == 0
    assert "Example" in result.output and f"featurestore {command}" in result.output


@pytest.mark.slow
def test_unprocessed_keys_are_retried_not_dropped(dynamodb_table, catalog):
    """DynamoDB answers at most 16 MB per BatchGetItem; the rest come back unprocessed."""
    client, table = dynamodb_table
    view = catalog.views["user_profile"]
    big = "x" * 380_000
    rows = [{"user_id": i, "feature_ts": dt.datetime(2026, 5, 22), "country": "DE",
             "email_domain": big} for i in range(60)]  # 60 x 380 kB: about 23 MB
    seed(client, table, view, rows)
    reader = store_for(client, table, deadline_s=30.0)
    requests = [service.entity_request(catalog, "user", [{"user_id": i} for i in range(60)],
                                       ["user_profile:email_domain", "user_profile:country"])]
    outcome = service.lookup(requests, reader, now=dt.datetime(2026, 5, 22, 1))
    assert outcome.degraded is False
    assert reader.reader.unprocessed_retries >= 1  # the DynamoDB reader under the store
    assert [r["features"]["user_profile:email_domain"]["value"] == big
            for r in outcome.results[0]] == [True] * 60


@pytest.mark.slow
@pytest.mark.parametrize("with_log", [False, True])
def test_serving_log_dbt_source_builds_with_and_without_files(tmp_path, with_log):
    folder = tmp_path / "serving_log"
    folder.mkdir()
    if with_log:
        (folder / "serving-20260522.jsonl").write_text(json.dumps({
            "ts": "2026-05-22T17:45:12.123456Z", "request_id": "r1", "model": "fraud-v3",
            "entity": "user", "key": {"user_id": 42}, "features": {
                "user_transactions:txn_count_7d": {"value": 14,
                                                   "feature_ts": "2026-05-22T17:40:00Z",
                                                   "status": "PRESENT"},
                "user_profile:country": {"value": None, "feature_ts": None,
                                         "status": "MISSING"}}}) + "\n")
    database = tmp_path / "w.duckdb"
    env = {**os.environ, "FEATURESTORE_DUCKDB_PATH": str(database),
           "FEATURESTORE_SERVING_LOG_DIR": str(folder), "DBT_TARGET_PATH": str(tmp_path / "t"),
           "DBT_LOG_PATH": str(tmp_path / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = str(Path(sys.executable).parent / "dbt")  # this venv's, activated or not
    done = subprocess.run([dbt, "build", "--select", "stg_serving__log", "--profiles-dir",
                           str(REPO_ROOT)], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    rows = duckdb.connect(str(database)).sql(
        "select served_at, request_id, model_name, entity, entity_key, feature_view, "
        "feature_name, value_json, feature_ts, status from stg_serving__log "
        "order by feature_view").fetchall()
    expected = [
        (dt.datetime(2026, 5, 22, 17, 45, 12, 123456), "r1", "fraud-v3", "user",
         '{"user_id":42}', "user_profile", "country", "null", None, "MISSING"),
        (dt.datetime(2026, 5, 22, 17, 45, 12, 123456), "r1", "fraud-v3", "user",
         '{"user_id":42}', "user_transactions", "txn_count_7d", "14",
         dt.datetime(2026, 5, 22, 17, 40), "PRESENT")]
    assert rows == (expected if with_log else [])
