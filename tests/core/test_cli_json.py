"""``--json`` (docs/cli-json.md): the commands that gained it print one parseable document
on stdout and nothing else (dbt's log goes to stderr), and an error under ``--json`` is a
JSON document on stdout too, with its exit code (issue 18, item 6)."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from tests.consumer.conftest import FOREIGN_ENV, copy_consumer_project, featurestore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A consumer project of its own (these tests apply, write keys, forget), built by
    ``featurestore build --json``; yields (root, that build's invocation)."""
    root = copy_consumer_project(tmp_path_factory.mktemp("json") / "shop")
    with pytest.MonkeyPatch.context() as patch:
        for name in FOREIGN_ENV:
            patch.delenv(name, raising=False)
        build = featurestore(root, "build", "--json")
        yield root, build


@pytest.fixture
def run(shop, monkeypatch):
    root, _ = shop
    for name in FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    return lambda *args: featurestore(root, *args)


def document(invocation, code: int = 0):
    assert invocation.exit_code == code, invocation.stdout + invocation.stderr
    return json.loads(invocation.stdout)  # the whole of stdout: one document


def test_build_json_keeps_dbt_off_stdout(shop):
    _, build = shop
    assert document(build) == {"ok": True, "columns_checked": True, "dbt_args": [],
                               "notes": []}
    assert "Completed successfully" in build.stderr  # dbt's log, moved to stderr


def test_validate_json(run):
    assert document(run("validate", "--json")) == {"ok": True, "views": 1, "entities": 1,
                                                   "notes": []}


def test_apply_json_then_nothing_left(run):
    first = document(run("apply", "--json"))
    assert (first["applied"], first["pending"], first["refused"]) == (1, 1, [])
    assert [(c["view"], c["action"], c["version"]) for c in first["changes"]] == [
        ("customer_orders", "create", 1)]
    again = document(run("apply", "--json"))
    assert (again["applied"], [c["action"] for c in again["changes"]]) == (0, ["unchanged"])


def test_training_set_json(run, shop, tmp_path):
    root, _ = shop
    out = tmp_path / "train.parquet"
    written = document(run("training-set", "--spine", str(root / "seeds/raw_churn_labels.csv"),
                           "--features", "customer_orders", "--out", str(out), "--json"))
    assert (written["path"], written["rows"], written["manifest_path"]) == (
        str(out), 11, f"{out}.manifest.json")
    assert written["manifest"] == json.loads(out.with_name(out.name + ".manifest.json")
                                             .read_text())
    assert pq.read_metadata(out).num_rows == 11


def test_run_json_is_one_line_per_cycle(run):
    done = run("run", "--once", "--no-sync", "--json")
    assert done.exit_code == 0, done.stderr
    (line,) = done.stdout.splitlines()
    cycle = json.loads(line)
    assert (cycle["status"], cycle["files"], cycle["events"]) == ("ok", 0, 0)
    assert set(cycle) == {"cycle_id", "started_at", "finished_at", "status", "files",
                          "events", "quarantined", "built_files", "built_events", "built",
                          "pending", "models_built", "rows_changed", "items_written",
                          "items_skipped", "seconds", "freshness_lag", "refused",
                          "held_since", "message"}


def test_keys_create_json(run, shop):
    root, _ = shop
    created = document(run("keys", "create", "--name", "scorer", "--grant", "internal,public",
                           "--json"))
    assert {k: v for k, v in created.items() if k != "key"} == {
        "name": "scorer", "sensitivities": ["public", "internal"], "views": ["*"],
        "keys_file": str(root / "api_keys.json"), "keys_file_ignored": False}
    stored = json.loads((root / "api_keys.json").read_text())["keys"]
    assert [k["sha256"] for k in stored if k["name"] == "scorer"] == [
        hashlib.sha256(created["key"].encode()).hexdigest()]


def test_online_status_and_forget_json(run, shop, dynamodb_local, dynamodb_table,
                                       monkeypatch):
    root, _ = shop
    _, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    status = document(run("online", "status", "--json"))
    assert status == {"store": f"DynamoDB Local at {dynamodb_local}, table {table}",
                      "table": {"name": table, "exists": True, "problem": None},
                      "sync_state": []}
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", "no_such_table")
    missing = document(run("online", "status", "--json"))["table"]
    assert (missing["exists"], missing["problem"] is not None) == (False, True)

    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    forgotten = document(run("forget", "customer", "1", "--json"))
    assert (forgotten["entity"], forgotten["key"], forgotten["dynamodb"]) == (
        "customer", {"customer_id": 1}, {"pk": "customer#1", "deleted": []})
    (rows,) = forgotten["warehouse"]
    assert rows["view"] == "customer_orders" and rows["rows"] > 0
    assert rows["purge_sql"].startswith("delete from ")
    assert forgotten["serving_log"] == {"folder": str(root / "warehouse" / "serving_log"),
                                        "lines": 0, "files": []}
    assert forgotten["not_covered"].endswith(
        'delete the lines with "entity":"customer" and "key":{"customer_id":1} there.')


# -- errors under --json ----------------------------------------------------------------
def test_a_usage_error_is_json_too(run):
    refused = run("validate", "--no-such-option", "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout) == {"error": "usage_error",
                                          "message": "No such option '--no-such-option'.",
                                          "exit_code": 1}
    assert refused.stderr.endswith("Error: No such option '--no-such-option'.\n")


def test_an_error_is_json_with_its_exit_code(run, monkeypatch):
    refused = run("training-set", "--spine", "nowhere.parquet", "--features",
                  "customer_orders", "--out", "x.parquet", "--json")
    failure = json.loads(refused.stdout)
    assert (refused.exit_code, failure["error"], failure["exit_code"]) == (
        1, "spine_error", 1)
    assert refused.stderr.splitlines()[-1] == f"Error: {failure['message']}"
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", "http://127.0.0.1:9")
    down = run("lookup", "customer", "1", "-f", "customer_orders", "--json")
    assert (down.exit_code, json.loads(down.stdout)["error"]) == (3, "store_unavailable")
