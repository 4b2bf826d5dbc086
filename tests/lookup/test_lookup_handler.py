"""Recorded API Gateway HTTP API v2 events through the Lambda handler, and the zip."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from featurestore.contracts import load_catalog
from featurestore.lookup import handler as handler_module
from featurestore.lookup.package import build_zip, unpack
from featurestore.lookup.registry_snapshot import write_snapshot
from featurestore.project import Project
from featurestore.settings import Settings
from tests.lookup.lookup_testkit import FEATURE_DEFS, REPO_ROOT, seed

EVENTS = Path(__file__).parent / "events"


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def fresh() -> dt.datetime:
    """Five minutes before this test began: well within every view's freshness SLO (the
    shortest is an hour), however long the suite has been running."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) - dt.timedelta(
        minutes=5)


@pytest.fixture
def lambda_env(dynamodb_local, dynamodb_table, catalog, tmp_path, monkeypatch, fresh):
    """The handler configured only by environment variables, as in Lambda."""
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [{
        "user_id": 42, "feature_ts": fresh, "txn_count_7d": 14}])
    seed(client, table, catalog.views["merchant_risk"], [{
        "merchant_id": 7, "feature_ts": fresh, "chargeback_rate_30d": 0.5}])
    registry = tmp_path / "registry.json"
    write_snapshot(load_catalog(FEATURE_DEFS), registry)
    env = {"FEATURESTORE_REGISTRY": str(registry), "FEATURESTORE_DYNAMODB_ENDPOINT":
           dynamodb_local, "FEATURESTORE_ONLINE_TABLE": table,
           "FEATURESTORE_SERVING_LOG_SAMPLE": "1.0",
           # no key configured: anonymous access has to be asked for (issue 10, item 5)
           "FEATURESTORE_ALLOW_ANONYMOUS": "true"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FEATURESTORE_API_KEYS", raising=False)
    monkeypatch.setattr(handler_module, "APP", None)
    return env


def test_recorded_get_event(lambda_env, fresh, capsys):
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    answer = handler_module.handler(event("get_features.json"), None)
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert answer["statusCode"] == 200
    assert answer["headers"] == {"content-type": "application/json",
                                 "x-request-id": "Ab1CdEfGhIjKlMn="}
    body = json.loads(answer["body"])
    ts = fresh.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["entity"] == "user" and body["degraded"] is False
    features = body["results"][0]["features"]
    assert body["results"][0]["key"] == {"user_id": 42}
    assert features["user_profile:country"] == {"value": None, "feature_ts": None,
                                                "status": "MISSING"}
    got = features["user_transactions:txn_count_7d"]
    assert (got["value"], got["feature_ts"], got["status"]) == (14, ts, "PRESENT")
    # the age at the moment of the call
    assert int((before - fresh).total_seconds()) <= got["age_seconds"] <= int(
        (after - fresh).total_seconds())
    # not in Lambda (no AWS_LAMBDA_FUNCTION_NAME): the serving log line goes to stdout
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {k: line[k] for k in ("request_id", "model", "entity", "key")} == {
        "request_id": "Ab1CdEfGhIjKlMn=", "model": "fraud-v3", "entity": "user",
        "key": {"user_id": 42}}
    assert line["features"]["user_transactions:txn_count_7d"] == {
        "value": 14, "feature_ts": ts, "status": "PRESENT"}


def test_recorded_post_event_with_stage_and_base64_body(lambda_env):
    answer = handler_module.handler(event("post_retrieve_stage.json"), None)
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 200
    assert [(r["entity"], r["key"]) for r in body["results"]] == [
        ("user", {"user_id": 42}), ("merchant", {"merchant_id": 7})]
    assert body["results"][1]["features"]["merchant_risk:chargeback_rate_30d"]["value"] == 0.5


def test_recorded_healthz_and_malformed_events(lambda_env):
    answer = handler_module.handler(event("healthz.json"), None)
    body = json.loads(answer["body"])
    assert (answer["statusCode"], body["status"], body["views"]) == (200, "ok", 4)
    answer = handler_module.handler(event("post_malformed.json"), None)
    assert (answer["statusCode"], json.loads(answer["body"])) == (400, {
        "error": "bad_request",
        "message": "the request body is not valid JSON: Expecting value: line 1 column 29 "
                   "(char 28)"})


def test_misconfiguration_is_a_500_with_a_body(lambda_env, monkeypatch):
    monkeypatch.setenv("FEATURESTORE_API_KEYS", "{oops")
    answer = handler_module.handler(event("healthz.json"), None)
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == {
        "error": "misconfigured",
        "message": "FEATURESTORE_API_KEYS: API keys are not valid JSON (Expecting property "
                   "name enclosed in double quotes: line 1 column 2 (char 1))"}


def test_an_unexpected_exception_is_a_500_with_a_body(lambda_env, monkeypatch):
    monkeypatch.setattr(handler_module, "APP",
                        handler_module.LookupApp.from_settings(Settings.from_env()))

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(handler_module.service, "lookup", explode)
    answer = handler_module.handler(event("get_features.json"), None)
    assert (answer["statusCode"], json.loads(answer["body"])) == (500, {
        "error": "internal_error",
        "message": "unexpected error; see the logs for request Ab1CdEfGhIjKlMn="})


@pytest.mark.slow
def test_package_lambda_zip_answers_a_recorded_event(lambda_env, tmp_path):
    zip_path = build_zip(Project(REPO_ROOT).catalog(), tmp_path / "lookup.zip")["path"]
    # what Lambda unpacks to /var/task, and what its runtime adds: boto3 and its dependencies
    code, runtime = unpack(zip_path, tmp_path)
    script = (
        "import json, sys, time\n"
        "started = time.perf_counter()\n"
        "import featurestore.lookup.handler as h\n"
        "imported = time.perf_counter() - started\n"
        "import featurestore, yaml\n"
        "answer = h.handler(json.load(open(sys.argv[1])), None)\n"
        "print(json.dumps({'answer': answer, 'featurestore': featurestore.__file__,\n"
        "                  'yaml': yaml.__file__, 'import_s': imported}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FEATURESTORE_REGISTRY",)}
    env.update(PYTHONPATH=f"{code}:{runtime}", AWS_LAMBDA_FUNCTION_NAME="featurestore-lookup")
    done = subprocess.run([sys.executable, "-S", "-c", script,
                           str(EVENTS / "get_features.json")], cwd=code, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["featurestore"].startswith(str(code))
    assert report["yaml"].startswith(str(code))
    assert report["answer"]["statusCode"] == 200
    body = json.loads(report["answer"]["body"])
    assert body["results"][0]["features"]["user_transactions:txn_count_7d"]["value"] == 14
    # in Lambda: EMF metrics documents on stdout
    emf = [json.loads(line) for line in done.stdout.splitlines() if '"_aws"' in line]
    assert emf[0]["Route"] == "/v1/features/{entity}/{key}"
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "featurestore/lookup"
    assert {d["View"]: d.get("PRESENT", 0) for d in emf[1:]} == {
        "user_profile": 0, "user_transactions": 1}


def test_a_process_that_froze_its_start_up_objects_exits_without_leak_warnings():
    """`featurestore demo` builds with DuckDB, then serves, and the server freezes the
    start-up objects (gc.freeze): the process must still end without a word on stderr
    (not nanobind's ~40 lines of leaked DuckDB instances, types and functions)."""
    script = ("import duckdb\n"
              "connection = duckdb.connect()\n"
              "from featurestore.lookup.handler import freeze_startup_objects\n"
              "freeze_startup_objects()\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert (done.returncode, done.stderr) == (0, "")
