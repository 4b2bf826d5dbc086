"""GET /openapi.json: a valid OpenAPI 3.1 document that says exactly what the handler does.

Both directions are checked twice, from the route table and by calling the handler:
every operation in the document is answered (never 404/405) and every path and method
the handler answers is in the document; then real answers (DynamoDB Local for the 200s,
each status of a value among them) validate against the document's response schemas.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from featurestore.lookup import openapi
from featurestore.lookup.access import AccessPolicy, hash_key
from featurestore.lookup.handler import ROUTER, LookupApp
from featurestore.lookup.http_server import to_event
from featurestore.lookup.package import build_zip, unpack
from featurestore.lookup.routes import ROUTES
from featurestore.lookup.status import STATUSES
from featurestore.project import Project
from tests.lookup.lookup_testkit import (
    NOW,
    REPO_ROOT,
    call,
    make_app,
    seed,
    services,
)
from tests.online_stores import FaultyStore, down

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
KEYS = json.dumps({"keys": [{"name": "fraud-model", "sha256": hash_key("s3cret-fraud"),
                             "sensitivities": ["public", "internal"], "views": ["*"]}]})


@pytest.fixture(scope="module")
def spec() -> dict:
    """The document exactly as the handler serves it."""
    return json.loads(openapi.document_text())


def operations(spec: dict):
    """``(path template, METHOD, operation)`` of every operation in the document."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


def schema_of(spec: dict, path: str | None, method: str, status: int) -> dict:
    """The JSON body schema the document gives for this answer. 404 and 405 belong to no
    operation: they are the NotFound and MethodNotAllowed responses of components."""
    operation = spec["paths"].get(path or "", {}).get(method.lower())
    if operation is None:
        assert status in (404, 405), f"{method} {path} answered {status}"
        response = spec["components"]["responses"][openapi.ERROR_RESPONSES[status][0]]
    else:
        assert str(status) in operation["responses"], (
            f"{method} {path} answered {status}, not documented for it")
        response = operation["responses"][str(status)]
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


def validator(spec: dict, schema: dict) -> Draft202012Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in ``spec``
    (an unknown keyword, ``components``, is ignored by validation)."""
    return Draft202012Validator({**schema, "components": spec["components"]},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_answer(spec: dict, method: str, path: str, answer: dict) -> object:
    """Validate one handler answer against the document; return its parsed body."""
    found = ROUTER.match(path.split("?")[0])
    template = found[0].template if found else None
    assert answer["headers"]["content-type"] == "application/json"
    assert answer["headers"]["x-request-id"]
    body = json.loads(answer["body"])
    errors = sorted(validator(spec, schema_of(spec, template, method, answer["statusCode"]))
                    .iter_errors(body), key=str)
    assert not errors, f"{method} {path} -> {answer['statusCode']}: {errors[0]}"
    return body


def handle(app: LookupApp, method: str, target: str, body: object = None,
           headers: dict | None = None) -> dict:
    """The handler's answer to the API Gateway v2 event of one HTTP request."""
    data = json.dumps(body).encode() if body is not None else None
    return app.handle(to_event(method, target, headers or {}, data))


@pytest.fixture
def app(catalog, online_store):
    return LookupApp(catalog, online_store, services=services())


def example_target(path: str, operation: dict) -> str:
    """The operation's path and query filled with the document's own examples."""
    query = []
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", quote(param["example"], safe=""))
        elif param["in"] == "query" and param["required"]:
            query.append(f"{param['name']}={quote(param['example'], safe=':,')}")
    return path + ("?" + "&".join(query) if query else "")


def example_bodies(operation: dict) -> list:
    media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return [example["value"] for example in media.get("examples", {}).values()] or [None]


# -- the document ------------------------------------------------------------------------
def test_the_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_the_document_is_built_once_and_served_as_built():
    assert openapi.document_text() is openapi.document_text()
    assert json.loads(openapi.document_text()) == openapi.build_document()


def test_the_api_key_scheme_guards_exactly_the_secured_routes(spec):
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        **spec["components"]["securitySchemes"]["ApiKey"],
        "type": "apiKey", "in": "header", "name": "x-api-key"}
    secured = {(m, p) for p, m, op in operations(spec) if op.get("security") == [{"ApiKey": []}]}
    assert secured == {(r.method, r.path) for r in ROUTES if r.secured} == {
        ("GET", "/v1/feature-views"), ("GET", "/v1/features/{entity}/{key}"),
        ("POST", "/v1/features/retrieve"), ("GET", "/v1/services/{service}/{entity}/{key}"),
        ("POST", "/v1/services/{service}/retrieve")}


def test_value_statuses_and_error_names_are_the_handlers(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["FeatureValue"]["properties"]["status"]["enum"] == list(STATUSES) == [
        "PRESENT", "STALE", "EXPIRED", "DEFAULT", "MISSING"]
    assert set(schemas["Error"]["required"]) == {"error", "message"}
    assert set(schemas["Error"]["properties"]["error"]["enum"]) == {
        "bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed",
        "payload_too_large", "unavailable", "internal_error", "misconfigured",
        # a feature service whose parameters were never frozen
        "conflict",
        # a 503 of a feature route: the view's served version is unknown here, or retired
        "version_unavailable",
        # only `featurestore serve`, for what it cannot read as an HTTP request
        "length_required", "uri_too_long", "headers_too_large", "not_implemented",
        "http_version_not_supported"}
    described = {name for name, _ in openapi.ERROR_RESPONSES.values()}
    assert set(spec["components"]["responses"]) == described
    assert sorted(openapi.ERROR_RESPONSES) == [400, 401, 403, 404, 405, 409, 413, 500, 503]


def test_request_examples_fit_the_request_schema(spec):
    for _, _, operation in operations(spec):
        if "requestBody" not in operation:
            continue
        named = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        own = validator(spec, spec["components"]["schemas"][named.rsplit("/", 1)[1]])
        for body in example_bodies(operation):
            own.validate(body)
    assert not validator(spec, spec["components"]["schemas"]["ServiceRetrieveRequest"]
                         ).is_valid({"keys": [{"user_id": 1}], "features": ["x"]})
    schema = spec["components"]["schemas"]["RetrieveRequest"]
    check = validator(spec, schema)
    assert not check.is_valid({"entity": "user", "keys": [{"user_id": 1}], "features": ["x"],
                               "at": 1})  # the handler refuses unknown fields too
    assert not check.is_valid({"entity": "user", "keys": [{"user_id": i} for i in range(101)],
                               "features": ["x"]})
    assert schema["description"].startswith("At most 100 keys")


# -- the route table and the document ----------------------------------------------------
def test_the_document_has_exactly_the_route_tables_operations(spec):
    documented = {(m, p): op["operationId"] for p, m, op in operations(spec)}
    assert documented == {(r.method, r.path): r.operation_id for r in ROUTES}
    assert ("GET", "/openapi.json") in documented


def test_the_router_finds_every_documented_operation(spec):
    for path, method, operation in operations(spec):
        target = example_target(path, operation).split("?")[0]
        found = ROUTER.match(target)
        assert found is not None and found[0].template == path, target
        assert found[0].methods[method].operation_id == operation["operationId"]


# -- the document and the handler, by calling it -----------------------------------------
def test_every_documented_operation_is_answered_with_its_examples(spec, app):
    for path, method, operation in operations(spec):
        for body in example_bodies(operation):
            target = example_target(path, operation)
            answer = handle(app, method, target, body)
            assert answer["statusCode"] == 200, (method, target, answer["body"])
            check_answer(spec, method, target, answer)


@pytest.mark.parametrize("path", [
    "/", "/metrics", "/openapi.yaml", "/docs", "/v1", "/v1/features", "/v1/features/user",
    "/v1/features/user/42/extra", "/v2/features/user/42", "/healthz/x", "/v1/feature-views/x",
])
def test_paths_not_in_the_document_are_404(spec, app, path):
    assert ROUTER.match(path) is None
    for method in METHODS:
        answer = handle(app, method, path)
        assert answer["statusCode"] == 404
        check_answer(spec, method, path, answer)


def test_methods_not_in_the_document_are_405(spec, app):
    for path, item in spec["paths"].items():
        operation = next(iter(item.values()))
        target = example_target(path, operation)
        for method in METHODS:
            if method.lower() in item:
                continue
            answer = handle(app, method, target)
            assert answer["statusCode"] == 405, (method, target)
            body = check_answer(spec, method, target, answer)
            assert body["message"].endswith(f"answers {', '.join(sorted(item)).upper()}, "
                                            f"not {method}")


def test_only_documented_secured_operations_ask_for_a_key(spec, catalog, online_store):
    locked = LookupApp(catalog, online_store, access=AccessPolicy.from_config(KEYS, "keys"))
    for path, method, operation in operations(spec):
        target = example_target(path, operation)
        answer = handle(locked, method, target, example_bodies(operation)[0])
        check_answer(spec, method, target, answer)
        assert (answer["statusCode"] == 401) == ("security" in operation), (method, path)


# -- real answers, DynamoDB Local behind them --------------------------------------------
F = "user_transactions:txn_count_7d"


@pytest.fixture
def live_app(dynamodb_table, catalog):
    """Items for each value status at the fixed clock NOW: user 1 PRESENT, 2 STALE,
    3 EXPIRED, 4 nothing (DEFAULT, and MISSING for features without a default)."""
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [
        {"user_id": 1, "feature_ts": NOW - dt.timedelta(minutes=20), "txn_count_7d": 14,
         "txn_amount_sum_7d": 12.5},
        {"user_id": 2, "feature_ts": NOW - dt.timedelta(hours=3), "txn_count_7d": 3},
        {"user_id": 3, "feature_ts": NOW - dt.timedelta(days=40), "txn_count_7d": 9}])
    seed(client, table, catalog.views["user_profile"], [
        {"user_id": 1, "feature_ts": NOW - dt.timedelta(days=2), "country": "DE",
         "is_verified": True, "signed_up_at": dt.datetime(2024, 1, 2, 3, 4, 5, 600)}])
    seed(client, table, catalog.views["merchant_risk"], [
        {"merchant_id": 7, "feature_ts": NOW - dt.timedelta(minutes=5),
         "chargeback_rate_30d": 0.5}])
    return make_app(catalog, client, table, clock=lambda: NOW,
                    access=AccessPolicy.from_config(KEYS, "keys"))


def statuses_in(body: dict) -> set[str]:
    return {value["status"] for row in body["results"] for value in row["features"].values()}


def test_real_answers_validate_against_the_document(spec, live_app):
    key = {"x-api-key": "s3cret-fraud"}
    features = f"{F},user_transactions:txn_amount_sum_7d,user_profile:country," \
               "user_profile:is_verified,user_profile:signed_up_at"
    seen: set[str] = set()
    for user_id in (1, 2, 3, 4):
        target = f"/v1/features/user/{user_id}?features={features}"
        answer = handle(live_app, "GET", target, headers=key)
        assert answer["statusCode"] == 200
        seen |= statuses_in(check_answer(spec, "GET", target, answer))
    assert seen == set(STATUSES)
    body = {"requests": [{"entity": "user", "keys": [{"user_id": u} for u in (1, 2, 3, 4)],
                          "features": [F, "user_profile:signed_up_at"]},
                         {"entity": "merchant", "keys": [{"merchant_id": 7}],
                          "features": ["merchant_risk"]}]}
    answer = handle(live_app, "POST", "/v1/features/retrieve", body, headers=key)
    assert answer["statusCode"] == 200
    posted = check_answer(spec, "POST", "/v1/features/retrieve", answer)
    assert statuses_in(posted) == set(STATUSES) and len(posted["results"]) == 5
    assert posted["results"][0]["features"]["user_profile:signed_up_at"]["value"] == \
        "2024-01-02T03:04:05.000600Z"

    for method, target, body, headers, status in [
        ("GET", "/healthz", None, {}, 200),
        ("GET", "/readyz", None, {}, 200),
        ("GET", "/v1/feature-views", None, key, 200),
        ("GET", "/openapi.json", None, {}, 200),
        ("GET", f"/v1/features/usr/1?features={F}", None, key, 400),
        ("POST", "/v1/features/retrieve", {"entity": "user", "keys": []}, key, 400),
        ("GET", f"/v1/features/user/1?features={F}", None, {}, 401),
        ("GET", "/v1/feature-views", None, {"x-api-key": "guess"}, 401),
        ("GET", "/v1/features/user/1?features=user_profile:email_domain", None, key, 403),
        ("GET", "/v2/things", None, key, 404),
        ("GET", "/v1/features/retrieve", None, key, 405),
        ("DELETE", "/healthz", None, {}, 405),
    ]:
        answer = handle(live_app, method, target, body, headers)
        assert answer["statusCode"] == status, (method, target, answer["body"])
        got = check_answer(spec, method, target, answer)
        if status != 200:
            assert set(got) == {"error", "message"}
    catalog = json.loads(handle(live_app, "GET", "/v1/feature-views", headers=key)["body"])
    assert {v["name"] for v in catalog["feature_views"]} >= {"user_transactions",
                                                            "merchant_risk"}
    assert [(v["name"], v["kind"]) for v in catalog["on_demand_views"]] == [
        ("txn_context", "on_demand")]


def test_a_store_that_does_not_answer_keeps_healthz_200_and_readyz_503(spec, catalog,
                                                                       online_store):
    app = LookupApp(catalog, FaultyStore(online_store, get_error=down(), ping_error=down()),
                    built_at="2026-05-01T00:00:00Z")
    health = handle(app, "GET", "/healthz")
    assert health["statusCode"] == 200
    assert check_answer(spec, "GET", "/healthz", health) == {
        "status": "degraded", "views": len(catalog.views),
        "registry_built_at": "2026-05-01T00:00:00Z",
        "store": {"status": "unavailable", "message": "the online store cannot be read: "
                                                      "DynamoDB is unreachable: refused"}}
    ready = handle(app, "GET", "/readyz")
    assert ready["statusCode"] == 503
    assert check_answer(spec, "GET", "/readyz", ready) == {
        "error": "unavailable",
        "message": "the online store cannot be read: DynamoDB is unreachable: refused"}


def test_a_500_has_the_documented_error_body(spec, catalog, online_store):
    broken = FaultyStore(online_store, get_error=RuntimeError("boom"))
    answer = handle(LookupApp(catalog, broken), "GET", f"/v1/features/user/1?features={F}")
    assert answer["statusCode"] == 500
    assert check_answer(spec, "GET", "/v1/features/user/1", answer)["error"] == \
        "internal_error"


# -- served ------------------------------------------------------------------------------
def test_openapi_json_over_the_local_http_server(dynamodb_table, catalog, serve):
    client, table = dynamodb_table
    url = serve(make_app(catalog, client, table,
                         access=AccessPolicy.from_config(KEYS, "keys")))
    answer = call(url, "/openapi.json")  # no key needed: it holds no feature or value
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.body == json.loads(openapi.document_text())
    validate(answer.body)


@pytest.mark.slow
def test_the_lambda_zip_serves_the_same_document(tmp_path):
    zip_path = build_zip(Project(REPO_ROOT).catalog(), tmp_path / "lookup.zip")["path"]
    code, runtime = unpack(zip_path, tmp_path)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(to_event("GET", "/openapi.json", {}, None)))
    script = ("import json, sys\nimport featurestore.lookup.handler as h\n"
              "print(json.dumps(h.handler(json.load(open(sys.argv[1])), None)))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEATURESTORE_")}
    env.update(PYTHONPATH=f"{code}:{runtime}", AWS_LAMBDA_FUNCTION_NAME="featurestore-lookup")
    done = subprocess.run([sys.executable, "-S", "-c", script, str(event)], cwd=code, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == json.loads(openapi.document_text())
