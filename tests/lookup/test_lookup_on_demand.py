"""On-demand features through the real HTTP server and DynamoDB Local: request fields
from the query (GET) or the body (POST), exact values and statuses, and every refusal
naming the field."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import pytest

from featurestore.lookup.access import AccessPolicy, hash_key
from tests.lookup.lookup_testkit import NOW, call, make_app, seed

FRESH = NOW - dt.timedelta(minutes=10)  # within user_transactions' 1h freshness SLO
REQUEST = {"amount": "100", "txn_ts": "2026-05-22T17:30:00Z", "merchant_country": "DE"}


def _query(features: str, fields: dict) -> str:
    params = [f"features={features}"] + [f"request.{name}={quote(value, safe='')}"
                                         for name, value in fields.items()]
    return "?" + "&".join(params)


@pytest.fixture
def url(dynamodb_table, catalog, serve):
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [
        {"user_id": 42, "feature_ts": FRESH, "txn_amount_avg_30d": 40.0,
         "txn_amount_avg_7d": 25.0, "txn_count_7d": 3},
        {"user_id": 44, "feature_ts": NOW - dt.timedelta(hours=2),  # past the SLO: STALE
         "txn_amount_avg_30d": 10.0, "txn_amount_avg_7d": None},
        {"user_id": 45, "feature_ts": NOW - dt.timedelta(days=31),  # past the TTL: EXPIRED
         "txn_amount_avg_30d": 10.0, "txn_amount_avg_7d": 3.0}])
    seed(client, table, catalog.views["user_profile"], [
        {"user_id": 42, "feature_ts": NOW - dt.timedelta(days=90), "country": "FR"},
        {"user_id": 44, "feature_ts": NOW - dt.timedelta(days=90), "country": "DE"}])
    return serve(make_app(catalog, client, table, clock=lambda: NOW))


def test_get_computes_each_on_demand_feature_from_the_request_and_its_inputs(url):
    answer = call(url, "/v1/features/user/42" + _query(
        "txn_context,user_transactions:txn_count_7d", REQUEST))
    assert answer.status == 200, answer.body
    ts_txn, ts_profile = "2026-05-22T17:50:00Z", "2026-02-21T18:00:00Z"
    assert answer.body["results"][0]["features"] == {
        "user_transactions:txn_count_7d": {"value": 3, "feature_ts": ts_txn,
                                           "age_seconds": 600, "status": "PRESENT"},
        "txn_context:amount_over_avg_30d": {"value": 2.5, "feature_ts": ts_txn,
                                            "age_seconds": 600, "status": "PRESENT"},
        "txn_context:amount_minus_avg_7d": {"value": 75.0, "feature_ts": ts_txn,
                                      "age_seconds": 600, "status": "PRESENT"},
        # 17:30 UTC is 19:30 in Berlin (summer time); no stored input
        "txn_context:local_hour": {"value": 19, "feature_ts": None, "status": "PRESENT"},
        "txn_context:is_foreign": {"value": True, "feature_ts": ts_profile,
                                   "age_seconds": 90 * 86400, "status": "PRESENT"}}


def test_the_status_is_the_worst_of_the_inputs_and_defaults_count_as_training_does(url):
    body = {"entity": "user", "keys": [{"user_id": 43}, {"user_id": 44}, {"user_id": 45}],
            "features": ["txn_context:amount_minus_avg_7d", "txn_context:is_foreign",
                         "txn_context:amount_over_avg_30d"],
            "request": {"amount": 9.5, "merchant_country": "DE"}}
    answer = call(url, "/v1/features/retrieve", method="POST", body=json.dumps(body))
    assert answer.status == 200, answer.body
    got = [{ref: (v["value"], v["status"]) for ref, v in row["features"].items()}
           for row in answer.body["results"]]
    assert got == [
        # nothing stored for 43: its inputs are MISSING (no defaults), so null reads
        {"txn_context:amount_minus_avg_7d": (9.5, "MISSING"),
         "txn_context:is_foreign": (None, "MISSING"),
         "txn_context:amount_over_avg_30d": (None, "MISSING")},
        # 44: user_transactions is 2 h old (STALE, value served), its profile is DE
        {"txn_context:amount_minus_avg_7d": (9.5, "STALE"),
         "txn_context:is_foreign": (False, "PRESENT"),
         "txn_context:amount_over_avg_30d": (0.95, "STALE")},
        # 45: user_transactions is past its TTL: the defaults (none: null), as training
        {"txn_context:amount_minus_avg_7d": (9.5, "EXPIRED"),
         "txn_context:is_foreign": (None, "MISSING"),
         "txn_context:amount_over_avg_30d": (None, "EXPIRED")}]


def test_post_takes_one_request_object_per_key(url):
    body = {"entity": "user", "keys": [{"user_id": 42}, {"user_id": 42}],
            "features": ["txn_context:amount_over_avg_30d", "txn_context:local_hour"],
            "request": [{"amount": 80, "txn_ts": "2026-05-22T23:30:00+00:00",
                         "merchant_country": "IN"},
                        {"amount": -4.0, "txn_ts": "2026-05-22T12:00:00-04:00"}]}
    answer = call(url, "/v1/features/retrieve", method="POST", body=json.dumps(body))
    assert answer.status == 200, answer.body
    assert [[v["value"] for v in row["features"].values()]
            for row in answer.body["results"]] == [[2.0, 5], [-0.1, 16]]


@pytest.mark.parametrize(("target", "message"), [
    (_query("txn_context", {"txn_ts": "2026-05-22T17:30:00Z"}),
     "request field `amount` is required: it is declared `nullable: false`"),
    (_query("txn_context", {**REQUEST, "amount": "12,5"}),
     "request field `amount` must be a float64 (a finite number), got `12,5`"),
    (_query("txn_context", {**REQUEST, "amount": "inf"}),
     "request field `amount` must be a float64 (a finite number), got `inf`"),
    (_query("txn_context", {**REQUEST, "txn_ts": "yesterday"}),
     "request field `txn_ts` must be an ISO-8601 timestamp (naive is UTC), like "
     "2026-05-01T12:00:00Z, got `yesterday`"),
    (_query("txn_context", {**REQUEST, "amout": "1"}),
     "unknown request field `amout` (did you mean `amount`?); the on-demand features asked "
     "read: amount, txn_ts, merchant_country"),
    (_query("txn_context:local_hour", {"amount": "1"}),
     "unknown request field `amount`; the on-demand features asked read: txn_ts, "
     "merchant_country"),
    (_query("user_transactions:txn_count_7d", {"amount": "1"}),
     "request fields (`amount`) are read by on-demand features only, and this request asks "
     "for none"),
    (_query("txn_context:hour", REQUEST),
     "on-demand view `txn_context` has no feature `hour`; its features: amount_over_avg_30d, "
     "amount_minus_avg_7d, local_hour, is_foreign"),
])
def test_get_refuses_request_fields_with_a_400_naming_the_field(url, target, message):
    answer = call(url, "/v1/features/user/42" + target)
    assert (answer.status, answer.body) == (400, {"error": "bad_request", "message": message})


@pytest.mark.parametrize(("request_value", "message"), [
    ([{"amount": 1.0}], "`request` lists 1 object(s) for 2 key(s): give one object per key, "
                        "in the keys' order, or one object for all of them"),
    ({"amount": True}, "request field `amount` must be a float64 (a finite number), got True"),
    ({"amount": 1.0, "merchant_country": 7},
     "request field `merchant_country` must be text, got 7"),
    ("amount=1", "`request` must be an object of request fields, like {\"amount\": ...}"),
])
def test_post_refuses_request_fields_with_a_400_naming_the_field(url, request_value, message):
    body = {"entity": "user", "keys": [{"user_id": 42}, {"user_id": 43}],
            "features": ["txn_context:is_foreign", "txn_context:amount_minus_avg_7d"],
            "request": request_value}
    answer = call(url, "/v1/features/retrieve", method="POST", body=json.dumps(body))
    assert (answer.status, answer.body) == (400, {"error": "bad_request", "message": message})


def test_a_key_must_be_granted_the_on_demand_feature_and_its_inputs(dynamodb_table, catalog,
                                                                    serve):
    client, table = dynamodb_table
    grants = {hash_key("k-public"): {"name": "public-only", "sensitivities": ["public"]}}
    app = make_app(catalog, client, table, clock=lambda: NOW,
                   access=AccessPolicy.from_config(json.dumps({"keys": [
                       {"sha256": digest, **grant} for digest, grant in grants.items()]}),
                       "test keys"))
    answer = call(serve(app), "/v1/features/user/42" + _query("txn_context:local_hour",
                                                              {"txn_ts": "2026-05-22T17:30:00Z"}),
                  headers={"x-api-key": "k-public"})
    assert answer.status == 403
    assert answer.body["message"] == (
        "API key `public-only` may not read `txn_context:local_hour` (sensitivity internal); "
        "ask for a key granted that sensitivity or view, or leave the feature out")


def test_the_sdk_takes_request_fields_per_key_with_python_datetimes(dynamodb_local,
                                                                    dynamodb_table, catalog,
                                                                    monkeypatch):
    from featurestore import FeatureStore
    from tests.lookup.lookup_testkit import REPO_ROOT

    client, table = dynamodb_table
    seed(client, table, catalog.views["user_profile"], [
        {"user_id": 42, "feature_ts": NOW - dt.timedelta(days=1), "country": "IN"}])
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    body = FeatureStore(REPO_ROOT).online(
        "user", [42, 43], "txn_context:local_hour,txn_context:is_foreign", at=NOW,
        request=[{"txn_ts": dt.datetime(2026, 5, 22, 23, 30, tzinfo=dt.UTC),
                  "merchant_country": "IN"},
                 {"txn_ts": dt.datetime(2026, 5, 22, 8, 0), "merchant_country": "BR"}])
    assert [{ref: (v["value"], v["status"]) for ref, v in row["features"].items()}
            for row in body["results"]] == [
        # 23:30 UTC is 05:00 in Kolkata; a naive time is UTC: 08:00 is 05:00 in Sao Paulo
        {"txn_context:local_hour": (5, "PRESENT"), "txn_context:is_foreign": (False, "PRESENT")},
        {"txn_context:local_hour": (5, "PRESENT"), "txn_context:is_foreign": (None, "MISSING")}]
