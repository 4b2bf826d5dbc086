"""The Lambda zip carries ``featurestore.ondemand`` without its load-time checker and
without sqlglot, and evaluates on-demand features from the registry snapshot's trees."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from featurestore.lookup.package import build_zip, unpack
from featurestore.project import Project
from tests.lookup.lookup_testkit import REPO_ROOT, seed

EVENT = Path(__file__).parent / "events" / "get_features.json"


def test_the_zip_holds_the_evaluator_but_not_the_checker(tmp_path):
    built = build_zip(Project(REPO_ROOT).catalog(), tmp_path / "lookup.zip")
    with zipfile.ZipFile(built["path"]) as archive:
        names = set(archive.namelist())
        snapshot = json.loads(archive.read("featurestore/lookup/registry.json"))
    assert {"featurestore/ondemand/__init__.py", "featurestore/ondemand/evaluate.py",
            "featurestore/ondemand/nodes.py", "featurestore/contracts/on_demand.py",
            "featurestore/lookup/on_demand.py"} <= names
    assert not [n for n in names if "subset" in n or n.startswith("sqlglot")]
    record = snapshot["on_demand"]["txn_context"]
    assert [f["name"] for f in record["features"]] == [
        "amount_over_avg_30d", "amount_minus_avg_7d", "local_hour", "is_foreign"]
    assert record["features"][0]["tree"] == {
        "op": "div", "dtype": "float64",
        "args": [{"op": "col", "dtype": "float64", "value": "amount"},
                 {"op": "col", "dtype": "float64", "value": "txn_amount_avg_30d"}]}


@pytest.mark.slow
def test_the_zip_imports_and_evaluates_without_sqlglot(dynamodb_local, dynamodb_table,
                                                        tmp_path):
    client, table = dynamodb_table
    catalog = Project(REPO_ROOT).catalog()
    fresh = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    seed(client, table, catalog.views["user_profile"], [
        {"user_id": 42, "feature_ts": fresh - dt.timedelta(days=3), "country": "GB"}])
    built = build_zip(catalog, tmp_path / "lookup.zip")
    code, runtime = unpack(built["path"], tmp_path)
    event = json.loads(EVENT.read_text())
    event["queryStringParameters"] = {
        "features": "txn_context:local_hour,txn_context:is_foreign",
        "request.txn_ts": "2026-01-15T23:30:00Z", "request.merchant_country": "IN"}
    (tmp_path / "event.json").write_text(json.dumps(event))
    script = (
        "import json, sys\n"
        "import featurestore.lookup.handler as h\n"
        "answer = h.handler(json.load(open(sys.argv[1])), None)\n"
        "print(json.dumps({'answer': answer, 'sqlglot': 'sqlglot' in sys.modules,\n"
        "                  'subset': 'featurestore.ondemand.subset' in sys.modules}))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEATURESTORE_")}
    env.update(PYTHONPATH=f"{code}:{runtime}", AWS_LAMBDA_FUNCTION_NAME="featurestore-lookup",
               FEATURESTORE_DYNAMODB_ENDPOINT=dynamodb_local, FEATURESTORE_ONLINE_TABLE=table,
               FEATURESTORE_ALLOW_ANONYMOUS="true", FEATURESTORE_SERVING_LOG_SAMPLE="0")
    done = subprocess.run([sys.executable, "-S", "-c", script, str(tmp_path / "event.json")],
                          cwd=code, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert (report["sqlglot"], report["subset"]) == (False, False)
    assert report["answer"]["statusCode"] == 200, report["answer"]["body"]
    features = json.loads(report["answer"]["body"])["results"][0]["features"]
    # 23:30 UTC is 05:00 the next day in Kolkata; IN is not GB
    assert features["txn_context:local_hour"] == {"value": 5, "feature_ts": None,
                                                  "status": "PRESENT"}
    assert (features["txn_context:is_foreign"]["value"],
            features["txn_context:is_foreign"]["status"]) == (True, "PRESENT")
