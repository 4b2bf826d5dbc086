"""Every refusal through the real HTTP server: status and exact body."""

from __future__ import annotations

import json
import logging

import pytest

from featurestore.lookup.access import AccessPolicy, hash_key
from tests.lookup.lookup_testkit import call, make_app

F = "user_transactions:txn_count_7d"


@pytest.fixture
def url(dynamodb_table, catalog, serve):
    client, table = dynamodb_table
    return serve(make_app(catalog, client, table))


def bad(message: str) -> dict:
    return {"error": "bad_request", "message": message}


@pytest.mark.parametrize(("path", "message"), [
    (f"/v1/features/usr/42?features={F}",
     "unknown entity `usr` (did you mean `user`?); known entities: merchant, user, "
     "user_device"),
    ("/v1/features/user/42?features=user_transaction:txn_count_7d",
     "unknown feature view `user_transaction` (did you mean `user_transactions`?); known "
     "views: device_seen_before, merchant_risk, txn_context, user_profile, "
     "user_transactions"),
    ("/v1/features/user/42?features=user_transactions:txn_count_8d",
     "feature view `user_transactions` has no feature `txn_count_8d` (did you mean "
     "`txn_count_7d`?); its features: txn_count_1h, txn_count_7d, txn_count_30d, "
     "txn_amount_sum_1h, txn_amount_sum_7d, txn_amount_sum_30d, txn_amount_avg_7d, "
     "txn_amount_avg_30d, last_txn_amount"),
    ("/v1/features/user/42?features=merchant_risk:txn_count_7d",
     "feature view `merchant_risk` is keyed by entity `merchant`, not `user`; ask for it "
     "with merchant keys"),
    (f"/v1/features/user/abc?features={F}",
     "entity `user`: key `user_id` must be an int64, got 'abc'"),
    ("/v1/features/user/42",
     "name the features to read: ?features=view:feature,... (or a whole view by name)"),
    ("/v1/features/user/42?features=",
     "name the features to read: features=view:feature,... (or a whole view by name)"),
    ("/v1/features/user_device/42?features=device_seen_before",
     "entity `user_device` has 2 key column(s) (user_id, device_id); the path gave 1 "
     "value(s): `42`. Separate values with `|` in that order."),
])
def test_get_400_names_the_problem(url, path, message):
    answer = call(url, path)
    assert (answer.status, answer.body) == (400, bad(message))


def _keys(n: int) -> list[dict]:
    return [{"user_id": i} for i in range(n)]


@pytest.mark.parametrize(("body", "message"), [
    ("{not json", "the request body is not valid JSON: Expecting property name enclosed in "
                  "double quotes: line 1 column 2 (char 1)"),
    ("", 'the request body is empty; send a JSON object like {"entity": "user", "keys": '
         '[{"user_id": 42}], "features": ["user_profile:country"]}'),
    ("[1, 2]", "the request body must be a JSON object with `entity`, `keys` and `features`, "
               "or a list of them under `requests`"),
    (json.dumps({"entity": "user", "keys": _keys(101), "features": [F]}),
     "101 keys in one request; the limit is 100 (one DynamoDB BatchGetItem). Split the "
     "request."),
    (json.dumps({"requests": [{"entity": "user", "keys": _keys(60), "features": [F]},
                              {"entity": "user", "keys": _keys(41), "features": [F]}]}),
     "101 keys in one request; the limit is 100 (one DynamoDB BatchGetItem). Split the "
     "request."),
    (json.dumps({"entity": "user", "keys": [{"user_id": True}], "features": [F]}),
     "entity `user`: key `user_id` must be an int64, got True"),
    (json.dumps({"entity": "user", "keys": [{"userid": 1}], "features": [F]}),
     "entity `user` has no key `userid`; its keys: user_id"),
    (json.dumps({"entity": "user", "keys": [{}], "features": [F]}),
     "entity `user` needs key `user_id` (its keys: user_id)"),
    (json.dumps({"entity": "user", "keys": [], "features": [F]}),
     "entity `user`: `keys` must be a non-empty list of key objects"),
    (json.dumps({"entity": "user", "keys": [{"user_id": 1}]}),
     "the request is missing `features`"),
    (json.dumps({"entity": "user", "keys": [{"user_id": 1}], "features": [F], "at": 1}),
     "unknown field `at` in the request; allowed: entity, keys, features, shadow, request"),
    (json.dumps({"entity": "user", "keys": [{"user_id": 1}], "features": 7}),
     '`features` must be a list of "view:feature" or "view" names, got 7'),
])
def test_post_400_names_the_problem(url, body, message):
    answer = call(url, "/v1/features/retrieve", method="POST", body=body,
                  headers={"content-type": "application/json"})
    assert (answer.status, answer.body) == (400, bad(message))


def test_exactly_100_keys_are_accepted(url):
    body = json.dumps({"entity": "user", "keys": _keys(100), "features": [F]})
    answer = call(url, "/v1/features/retrieve", method="POST", body=body)
    assert answer.status == 200
    assert len(answer.body["results"]) == 100
    assert {r["features"][F]["status"] for r in answer.body["results"]} == {"DEFAULT"}


def test_unknown_route_and_wrong_method(url):
    assert call(url, "/v2/things").body == {
        "error": "not_found",
        "message": "no route GET /v2/things; routes: GET /healthz, GET /readyz, GET "
                   "/v1/feature-views, GET "
                   "/v1/features/{entity}/{key}?features=..., POST /v1/features/retrieve"}
    answer = call(url, "/v1/features/retrieve")
    assert (answer.status, answer.body) == (405, {
        "error": "method_not_allowed",
        "message": "/v1/features/retrieve answers POST, not GET"})


KEYS = json.dumps({"keys": [
    {"name": "fraud-model", "sha256": hash_key("s3cret-fraud"),
     "sensitivities": ["public", "internal"], "views": ["*"]},
    {"name": "growth-dash", "sha256": hash_key("s3cret-growth"),
     "sensitivities": ["public", "internal", "pii"], "views": ["user_profile"]},
]})


@pytest.fixture
def locked_url(dynamodb_table, catalog, serve):
    client, table = dynamodb_table
    policy = AccessPolicy.from_config(KEYS, "test keys")
    return serve(make_app(catalog, client, table, access=policy))


def test_401_without_or_with_an_unknown_key(locked_url, caplog):
    caplog.set_level(logging.WARNING, "featurestore.lookup.access")
    answer = call(locked_url, f"/v1/features/user/1?features={F}")
    assert (answer.status, answer.body) == (401, {
        "error": "unauthorized",
        "message": "missing API key: send it in the `x-api-key` header"})
    answer = call(locked_url, f"/v1/features/user/1?features={F}",
                  headers={"x-api-key": "guess"})
    assert (answer.status, answer.body) == (401, {
        "error": "unauthorized",
        "message": "unknown API key: the `x-api-key` header matches no configured key"})
    assert call(locked_url, "/v1/feature-views").status == 401
    denied = [json.loads(r.getMessage()) for r in caplog.records]
    assert [(d["status"], d["reason"], d["path"]) for d in denied] == [
        (401, "no API key", "/v1/features/user/1"),
        (401, "unknown API key", "/v1/features/user/1"),
        (401, "no API key", "/v1/feature-views")]
    assert "guess" not in caplog.text


def test_403_names_the_feature_and_is_logged(locked_url, caplog):
    caplog.set_level(logging.WARNING, "featurestore.lookup.access")
    answer = call(locked_url, "/v1/features/user/1?features=user_profile:country,"
                  "user_profile:email_domain", headers={"x-api-key": "s3cret-fraud"})
    assert (answer.status, answer.body) == (403, {
        "error": "forbidden",
        "message": "API key `fraud-model` may not read `user_profile:email_domain` "
                   "(sensitivity pii); ask for a key granted that sensitivity or view, or "
                   "leave the feature out"})
    answer = call(locked_url, "/v1/features/retrieve", method="POST",
                  headers={"x-api-key": "s3cret-growth"}, body=json.dumps(
                      {"entity": "user", "keys": [{"user_id": 1}],
                       "features": ["user_profile:email_domain", F]}))
    assert (answer.status, answer.body) == (403, {
        "error": "forbidden",
        "message": "API key `growth-dash` may not read `user_transactions:txn_count_7d` "
                   "(view `user_transactions` is not granted); ask for a key granted that "
                   "sensitivity or view, or leave the feature out"})
    denied = [json.loads(r.getMessage()) for r in caplog.records]
    assert [(d["status"], d["key"], d["features"]) for d in denied] == [
        (403, "fraud-model", ["`user_profile:email_domain` (sensitivity pii)"]),
        (403, "growth-dash", ["`user_transactions:txn_count_7d` (view `user_transactions` "
                              "is not granted)"])]


def test_granted_keys_read(locked_url):
    answer = call(locked_url, "/v1/features/user/1?features=user_profile:email_domain",
                  headers={"x-api-key": "s3cret-growth"})
    assert answer.status == 200
    assert answer.body["results"][0]["features"]["user_profile:email_domain"]["status"] == \
        "MISSING"


def test_anonymous_access_without_configured_keys_excludes_pii(url):
    answer = call(url, "/v1/features/user/1?features=user_profile:email_domain")
    assert (answer.status, answer.body["message"]) == (403, (
        "API key `anonymous` may not read `user_profile:email_domain` (sensitivity pii); ask "
        "for a key granted that sensitivity or view, or leave the feature out"))


def test_bad_key_config_names_the_field():
    from featurestore.errors import ProjectError

    with pytest.raises(ProjectError, match=r"^keys.json, keys\[0\], field `sensitivities`: "
                       r"'secret' is not one of public, internal, pii$"):
        AccessPolicy.from_config(json.dumps({"keys": [{"name": "a", "sha256": "0" * 64,
                                                       "sensitivities": ["secret"]}]}),
                                 "keys.json")
