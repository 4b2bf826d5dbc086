"""GET /v1/services/{service}/{entity}/{key} and POST /v1/services/{service}/retrieve:
exact vectors against DynamoDB Local with hand-written frozen parameters, the statuses of
the raw values, and each refusal's status and message."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from featurestore.lookup.http_server import to_event
from tests.lookup.lookup_testkit import NOW, make_app, seed, services
from tests.lookup.test_lookup_vectors import ut_row

COLUMNS = ["user_transactions__txn_count_7d", "user_profile__country",
           "user_transactions__txn_count_7d__zscore",
           "user_transactions__txn_count_7d__quantile_bins",
           "user_profile__country__one_hot_0", "user_profile__country__one_hot_1",
           "user_profile__country__one_hot_oov", "user_profile__country__one_hot_null"]
HEAD = {"service": "fraud_model", "service_version": 1, "parameters_version": 3,
        "parameters_sha256": "f" * 64, "entity": "user", "columns": COLUMNS}


@pytest.fixture
def app(dynamodb_table, catalog):
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [
        ut_row(42, dt.datetime(2026, 5, 22, 17, 40), txn_count_7d=14),
        ut_row(43, NOW - dt.timedelta(days=31), txn_count_7d=3)])  # expired: default 0
    seed(client, table, catalog.views["user_profile"], [{
        "user_id": 42, "feature_ts": dt.datetime(2026, 5, 18, 18), "country": "US",
        "signup_channel": None, "is_verified": True, "kyc_level": 2,
        "signed_up_at": None, "email_domain": "x.com"}])
    return make_app(catalog, client, table, clock=lambda: NOW, services=services())


def handle(app, method: str, path: str, body=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    answer = app.handle(to_event(method, path, {}, data))
    return answer["statusCode"], json.loads(answer["body"])


USER_42 = {"key": {"user_id": 42}, "vector": [14, "US", 2.0, 1, 0, 0, 1, 0], "features": {
    "user_transactions:txn_count_7d": {"value": 14, "feature_ts": "2026-05-22T17:40:00Z",
                                       "age_seconds": 1200, "status": "PRESENT"},
    "user_profile:country": {"value": "US", "feature_ts": "2026-05-18T18:00:00Z",
                             "age_seconds": 345600, "status": "PRESENT"}}}
USER_43 = {"key": {"user_id": 43}, "vector": [0, None, -5.0, 0, 0, 0, 0, 1], "features": {
    "user_transactions:txn_count_7d": {"value": 0, "feature_ts": "2026-04-21T18:00:00Z",
                                       "age_seconds": 2678400, "status": "EXPIRED"},
    "user_profile:country": {"value": None, "feature_ts": None, "status": "MISSING"}}}


def test_get_answers_the_vector_in_the_services_order(app):
    assert handle(app, "GET", "/v1/services/fraud_model/user/42") == (200, {
        **HEAD, "results": [USER_42], "degraded": False})
    assert handle(app, "GET", "/v1/services/fraud_model/user/43") == (200, {
        **HEAD, "results": [USER_43], "degraded": False})


def test_post_answers_each_key_in_order(app):
    assert handle(app, "POST", "/v1/services/fraud_model/retrieve",
                  {"keys": [{"user_id": 43}, {"user_id": 42}]}) == (200, {
        **HEAD, "results": [USER_43, USER_42], "degraded": False})


def test_a_service_never_frozen_is_a_409_naming_the_command(dynamodb_table, catalog):
    client, table = dynamodb_table
    problem = ("the transformation parameters of `fraud_model` v1 were never frozen; run "
               "featurestore training-set --service fraud_model --spine SPINE --out OUT "
               "(then rebuild the lookup: featurestore package-lambda)")
    app = make_app(catalog, client, table, services=services(problem))
    for method, path, body in (("GET", "/v1/services/fraud_model/user/42", None),
                               ("POST", "/v1/services/fraud_model/retrieve",
                                {"keys": [{"user_id": 42}]})):
        assert handle(app, method, path, body) == (409, {"error": "conflict",
                                                         "message": problem})


@pytest.mark.parametrize("method, path, body, status, message", [
    ("GET", "/v1/services/fraud/user/42", None, 404,
     "unknown feature service `fraud`; known services: fraud_model"),
    ("GET", "/v1/services/fraud_model/merchant/7", None, 400,
     "service `fraud_model` reads entity `user`, not `merchant`: ask "
     "/v1/services/fraud_model/user/{key}"),
    ("GET", "/v1/services/fraud_model/user/4x2", None, 400,
     "entity `user`: key `user_id` must be an int64, got '4x2'"),
    ("POST", "/v1/services/fraud_model/retrieve", {"keys": []}, 400,
     "service `fraud_model`: `keys` must be a non-empty list of user key objects"),
    ("POST", "/v1/services/fraud_model/retrieve", {"keys": [{"user_id": 1}], "features": []},
     400, "unknown field `features` in the request; allowed: keys, request"),
    ("POST", "/v1/services/fraud_model/retrieve", "[]", 400,
     "the request body must be a JSON object like {\"keys\": [{\"user_id\": \"...\"}]}"),
    ("POST", "/v1/services/fraud_model/retrieve", {"keys": [{"user_id": i}
                                                            for i in range(101)]}, 400,
     "101 keys in one request; the limit is 100 (one DynamoDB BatchGetItem). Split the "
     "request."),
])
def test_refusals(app, method, path, body, status, message):
    got_status, got = handle(app, method, path, body if body != "[]" else [])
    assert (got_status, got["message"]) == (status, message)


@pytest.mark.slow
def test_the_lambda_zip_serves_a_vector_without_sqlglot(dynamodb_local, dynamodb_table,
                                                       catalog, tmp_path):
    """The zip `package-lambda` builds, with a service's frozen parameters baked into its
    snapshot, answers the service route on the runtime's modules only: the evaluator
    rebuilds the transformations from the parameters, importing neither sqlglot nor
    DuckDB."""
    import os
    import subprocess
    import sys
    import zipfile

    from featurestore.lookup.package import build_zip, unpack
    from featurestore.project import Project
    from tests.lookup.lookup_testkit import REPO_ROOT, service_record

    client, table = dynamodb_table
    fresh = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=5)
    seed(client, table, catalog.views["user_transactions"],
         [ut_row(42, fresh, txn_count_7d=14)])
    zip_path = build_zip(Project(REPO_ROOT).catalog(), tmp_path / "lookup.zip",
                         services={"fraud_model": service_record()})["path"]
    with zipfile.ZipFile(zip_path) as archive:
        assert "featurestore/ondemand/subset.py" not in archive.namelist()
    code, runtime = unpack(zip_path, tmp_path)
    request = tmp_path / "event.json"
    request.write_text(json.dumps(to_event("GET", "/v1/services/fraud_model/user/42", {},
                                           None)))
    script = ("import json, sys\n"
              "import featurestore.lookup.handler as h\n"
              "answer = h.handler(json.load(open(sys.argv[1])), None)\n"
              "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
              "('sqlglot', 'duckdb', 'pyarrow'))\n"
              "print(json.dumps({'answer': answer, 'heavy': heavy}))\n")
    env = {k: v for k, v in os.environ.items() if k != "FEATURESTORE_REGISTRY"}
    env.update(PYTHONPATH=f"{code}:{runtime}", AWS_LAMBDA_FUNCTION_NAME="featurestore-lookup",
               FEATURESTORE_DYNAMODB_ENDPOINT=dynamodb_local, FEATURESTORE_ONLINE_TABLE=table,
               FEATURESTORE_ALLOW_ANONYMOUS="true")
    env.pop("FEATURESTORE_API_KEYS", None)
    done = subprocess.run([sys.executable, "-S", "-c", script, str(request)], cwd=code,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    assert report["answer"]["statusCode"] == 200, report["answer"]["body"]
    body = json.loads(report["answer"]["body"])
    assert body["results"][0]["vector"] == [14, None, 2.0, 1, 0, 0, 0, 1]
    assert body["results"][0]["features"]["user_transactions:txn_count_7d"]["status"] == \
        "PRESENT"


def test_parameters_frozen_on_another_on_demand_version_are_a_409(dynamodb_table, catalog):
    """A model trained on txn_context v2's expressions is never served v1's values."""
    from featurestore.lookup.service_vectors import services_from_snapshot
    from tests.lookup.lookup_testkit import service_record

    client, table = dynamodb_table
    record = service_record()
    document = record["parameters"]["document"]
    document["features"].append({
        "name": "txn_context:local_hour", "ref": "txn_context:local_hour",
        "view": "txn_context", "version": 2, "feature": "local_hour", "dtype": "int64",
        "column": "txn_context__local_hour", "on_demand": True})
    document["reads"] = {"user_transactions": 1, "user_profile": 1}
    record["features"].append("txn_context:local_hour")
    app = make_app(catalog, client, table, clock=lambda: NOW,
                   services=services_from_snapshot({"services": {"fraud_model": record}}))
    assert handle(app, "POST", "/v1/services/fraud_model/retrieve", {
        "keys": [{"user_id": 42}], "request": {"txn_ts": "2026-05-01T12:00:00Z"}}) == (
        409, {"error": "conflict", "message": (
        "the parameters of `fraud_model` (set 3) were frozen on on-demand view "
        "`txn_context@v2`, but this lookup computes v1 of it (its expressions may differ); "
        "freeze a new parameter set on it and rebuild the lookup (featurestore "
        "package-lambda)")})
