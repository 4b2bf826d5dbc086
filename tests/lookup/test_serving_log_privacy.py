"""The serving log keeps pii out, marks degraded answers, caps keys, and is forgotten."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import shutil

import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.gates import skew
from featurestore.lookup import service
from featurestore.lookup.handler import LookupApp
from featurestore.lookup.serving_log import ServingLog, forget_entity
from featurestore.online.items import encode_item, to_epoch_micros
from featurestore.settings import Settings
from tests.lookup.lookup_testkit import NOW, REPO_ROOT, seed
from tests.online_stores import FaultyStore, down, store_for

PROFILE = ["user_profile:country", "user_profile:email_domain", "user_profile:kyc_level"]


@pytest.fixture
def stored(dynamodb_table):
    """``stored(items)``: the items put into a fresh table of DynamoDB Local, and the real
    store over it."""
    client, table = dynamodb_table

    def put(items: dict):
        for item in items.values():
            client.put_item(TableName=table, Item=item)
        return store_for(client, table)
    return put


def profiles(catalog, users: range) -> dict:
    view = catalog.views["user_profile"]
    rows = [{"user_id": u, "feature_ts": dt.datetime(2026, 5, 20), "country": "DE",
             "email_domain": f"user{u}.example.com", "kyc_level": u % 3} for u in users]
    return {(item["pk"]["S"], item["sk"]["S"]): item
            for item in (encode_item(view, row, to_epoch_micros(NOW)) for row in rows)}


def served(catalog, log: ServingLog, store, users: range, refs=PROFILE) -> None:
    requests = [service.entity_request(catalog, "user", [{"user_id": u} for u in users], refs)]
    log.record("r1", "fraud-v3", requests, service.lookup(requests, store, now=NOW))


def lines(folder) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob("serving-*.jsonl"))
            for line in path.read_text().splitlines()]


def test_pii_values_are_left_out_without_a_secret(catalog, tmp_path, stored):
    served(catalog, ServingLog(folder=tmp_path), stored(profiles(catalog, range(3))), range(3))
    text = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "example.com" not in text
    first = lines(tmp_path)[0]
    assert list(first["features"]) == ["user_profile:country", "user_profile:kyc_level"]
    assert first["pii"] == {"user_profile:email_domain": {
        "feature_ts": "2026-05-20T00:00:00Z", "status": "PRESENT"}}
    assert "degraded" not in first


def test_pii_values_are_a_keyed_hash_with_a_secret(catalog, tmp_path, stored):
    served(catalog, ServingLog(folder=tmp_path, pii_key="s3cret"),
           stored(profiles(catalog, range(2))), range(2))
    digest = hmac.new(b"s3cret", b'"user1.example.com"', hashlib.sha256).hexdigest()
    assert lines(tmp_path)[1]["pii"]["user_profile:email_domain"] == {
        "value_hmac": digest, "feature_ts": "2026-05-20T00:00:00Z", "status": "PRESENT"}
    assert "example.com" not in "".join(p.read_text() for p in tmp_path.iterdir())


def test_in_lambda_the_secret_comes_from_the_settings(catalog, capsys, stored):
    app = LookupApp.from_settings(Settings.from_env(environ={
        "AWS_LAMBDA_FUNCTION_NAME": "f", "FEATURESTORE_ALLOW_ANONYMOUS": "true",
        "FEATURESTORE_API_KEYS": json.dumps({"keys": [{"name": "g", "sha256": hashlib.sha256(
            b"k").hexdigest(), "sensitivities": ["internal", "pii"]}]}),
        "FEATURESTORE_SERVING_LOG_HMAC_KEY": "s3cret"}), catalog=catalog,
        store=stored(profiles(catalog, range(2))))
    answer = app.handle({"rawPath": "/v1/features/user/1", "headers": {"x-api-key": "k"},
                         "queryStringParameters": {"features": ",".join(PROFILE)}})
    assert answer["statusCode"] == 200
    assert "user1.example.com" in answer["body"]  # the caller may read it; the log may not
    out = capsys.readouterr().out
    line = next(json.loads(x) for x in out.splitlines() if '"request_id"' in x)
    assert "example.com" not in out
    assert line["pii"]["user_profile:email_domain"]["value_hmac"] == hmac.new(
        b"s3cret", b'"user1.example.com"', hashlib.sha256).hexdigest()


def test_degraded_answers_are_marked_and_the_skew_gate_skips_them(catalog, tmp_path, stored):
    log = ServingLog(folder=tmp_path)
    items = profiles(catalog, range(40))
    store = stored(items)
    served(catalog, log, store, range(40))  # kyc_level 0, 1, 2 ...: a third each
    # a store that does not answer: defaults, kyc_level 0
    served(catalog, log, FaultyStore(store, get_error=down("DynamoDB is unreachable: test")),
           range(40, 100))
    written = lines(tmp_path)
    assert [line.get("degraded") for line in written] == [None] * 40 + [True] * 60
    assert {f["status"] for line in written[40:] for f in line["features"].values()} == {
        "DEFAULT"}
    # a sample this small is "insufficient data" under the default skew.min_sample (1,000):
    # judged here with a contract that asks for 30
    view = catalog.views["user_profile"]
    view = dataclasses.replace(view, features=tuple(
        dataclasses.replace(feature, skew_min_sample=30) for feature in view.features))
    inputs = skew.SkewInputs()
    inputs.training = {"user_profile:country": ["DE"] * 30,
                       "user_profile:kyc_level": [u % 3 for u in range(30)],
                       "user_profile:email_domain": ["x"] * 30}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    count = skew.load_serving(tmp_path, [view], inputs, now - dt.timedelta(hours=1),
                              now + dt.timedelta(hours=1))
    assert count == 40
    assert inputs.serving["user_profile:kyc_level"] == [u % 3 for u in range(40)]
    metrics = skew.skew_metrics(inputs, view)
    # non-pii features are compared as before; the pii one is not served in the clear,
    # so it is not compared (and never taken for a served null)
    assert metrics["null_rate_diff(country)"] == 0 and metrics["psi(country)"] == 0
    assert metrics["null_rate_diff(kyc_level)"] == 0 and metrics["psi(kyc_level)"] < 0.01
    assert not [name for name in metrics if "email_domain" in name]


def test_long_key_values_are_cut_in_the_log(catalog, tmp_path, stored):
    device = "d" * 2000
    requests = [service.entity_request(catalog, "user_device",
                                       [{"user_id": 1, "device_id": device}],
                                       ["device_seen_before"])]
    ServingLog(folder=tmp_path).record("r", None, requests,
                                       service.lookup(requests, stored({}), now=NOW))
    (line,) = lines(tmp_path)
    assert line["key"] == {"user_id": 1, "device_id": "d" * 128 + "…"}
    assert len(json.dumps(line)) < 1000


# -- featurestore forget: the local serving log, and what it cannot reach ------------------
@pytest.fixture
def project_dir(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO_ROOT / name, root)
    return root


def test_forget_removes_the_entitys_serving_log_lines(catalog, project_dir, dynamodb_local,
                                                      dynamodb_table, tmp_path, stored):
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [
        {"user_id": 2, "feature_ts": dt.datetime(2026, 5, 22, 17), "txn_count_7d": 1}])
    folder = tmp_path / "serving_log"
    log = ServingLog(folder=folder)
    served(catalog, log, stored({}), range(1, 4), refs=["user_transactions:txn_count_7d"])
    served(catalog, log, stored({}), range(2, 3), refs=["user_profile:country"])
    merchant = [service.entity_request(catalog, "merchant", [{"merchant_id": 2}],
                                       ["merchant_risk"])]
    log.record("r2", None, merchant, service.lookup(merchant, stored({}), now=NOW))
    before = lines(folder)
    result = CliRunner().invoke(cli, ["--project-dir", str(project_dir), "forget", "user",
                                      "2"], env={
        "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local, "FEATURESTORE_ONLINE_TABLE": table,
        "FEATURESTORE_SERVING_LOG_DIR": str(folder)}, obj={})
    assert result.exit_code == 0, result.output
    after = lines(folder)
    assert after == [line for line in before
                     if (line["entity"], line["key"]) != ("user", {"user_id": 2})]
    assert len(before) - len(after) == 2
    assert {"entity": "merchant", "key": {"merchant_id": 2}}.items() <= after[-1].items()
    assert result.stdout.splitlines()[-2:] == [
        f"serving log: removed 2 line(s) of user {{\"user_id\": 2}} from 1 file(s) in "
        f"{folder}",
        "not covered: the serving log of a deployed lookup endpoint (Lambda's stdout, in the "
        "CloudWatch Logs group /aws/lambda/<function>) and any copy delivered from it (a "
        "subscription to S3): delete the lines with \"entity\":\"user\" and "
        "\"key\":{\"user_id\":2} there."]
    # a line served after the forget goes on in the same file
    served(catalog, log, stored({}), range(5, 6), refs=["user_transactions:txn_count_7d"])
    assert lines(folder)[-1]["key"] == {"user_id": 5}


def test_forget_matches_a_cut_key(catalog, tmp_path, stored):
    long_id = "é" * 300
    requests = [service.entity_request(catalog, "user_device",
                                       [{"user_id": 1, "device_id": long_id},
                                        {"user_id": 1, "device_id": "short"}],
                                       ["device_seen_before"])]
    ServingLog(folder=tmp_path).record("r", None, requests,
                                       service.lookup(requests, stored({}), now=NOW))
    gone = forget_entity(tmp_path, "user_device", {"user_id": 1, "device_id": long_id})
    assert (gone.lines, [line["key"]["device_id"] for line in lines(tmp_path)]) == (
        1, ["short"])
    assert forget_entity(tmp_path / "nothing", "user", {"user_id": 1}).lines == 0


def test_forget_reaches_the_files_the_readers_read_nested_ones_too(tmp_path):
    nested = tmp_path / "exported" / "2026"
    nested.mkdir(parents=True)
    line = {"ts": "2026-05-01T00:00:00Z", "entity": "user", "features": {}}
    text = "".join(json.dumps({**line, "key": {"user_id": n}}, separators=(",", ":")) + "\n"
                   for n in (1, 2))
    (nested / "part-0001.json").write_text(text)
    gone = forget_entity(tmp_path, "user", {"user_id": 2})
    assert (gone.lines, gone.files) == (1, [nested / "part-0001.json"])
    assert (nested / "part-0001.json").read_text() == text.splitlines(keepends=True)[0]
