"""Exact feature vectors through the real HTTP server against DynamoDB Local."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.lookup.lookup_testkit import NOW, call, make_app, seed

UT_FEATURES = ("txn_count_1h", "txn_count_7d", "txn_count_30d", "txn_amount_sum_1h",
               "txn_amount_sum_7d", "txn_amount_sum_30d", "txn_amount_avg_7d",
               "txn_amount_avg_30d", "last_txn_amount")
ASKED = ("user_transactions:txn_count_7d,user_transactions:txn_amount_avg_7d,"
         "user_profile:country,user_profile:signup_channel,user_profile:is_verified,"
         "user_profile:signed_up_at")


def ut_row(user_id: int, feature_ts: dt.datetime, **values) -> dict:
    row = {name: None for name in UT_FEATURES}
    row.update(user_id=user_id, feature_ts=feature_ts, **values)
    return row


@pytest.fixture
def seeded(dynamodb_table, catalog):
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [
        ut_row(42, dt.datetime(2026, 5, 22, 17, 40), txn_count_7d=14, txn_amount_avg_7d=12.5),
        # exactly the ttl old: not expired (inclusive bound), but past the 1h SLO
        ut_row(43, NOW - dt.timedelta(days=30), txn_count_7d=3),
        # one microsecond past the ttl: expired, the defaults are served
        ut_row(44, NOW - dt.timedelta(days=30, microseconds=1), txn_count_7d=9,
               txn_amount_avg_7d=4.0),
    ])
    seed(client, table, catalog.views["user_profile"], [{
        "user_id": 42, "feature_ts": dt.datetime(2026, 5, 18, 18), "country": "DE",
        "signup_channel": None, "is_verified": True, "kyc_level": 2,
        "signed_up_at": dt.datetime(2024, 1, 2, 3, 4, 5, 123456), "email_domain": "x.com"}])
    seed(client, table, catalog.views["merchant_risk"], [{
        "merchant_id": 7, "feature_ts": dt.datetime(2026, 5, 22, 17, 30),
        "txn_count_7d": 120, "chargeback_count_30d": 3, "chargeback_rate_30d": 0.025}])
    return client, table


# user_profile has no freshness_slo: 4-day-old profile values are PRESENT, not STALE
USER_42 = {
    "user_transactions:txn_count_7d": {"value": 14, "feature_ts": "2026-05-22T17:40:00Z",
                                       "age_seconds": 1200, "status": "PRESENT"},
    "user_transactions:txn_amount_avg_7d": {"value": 12.5, "feature_ts": "2026-05-22T17:40:00Z",
                                            "age_seconds": 1200, "status": "PRESENT"},
    "user_profile:country": {"value": "DE", "feature_ts": "2026-05-18T18:00:00Z",
                             "age_seconds": 345600, "status": "PRESENT"},
    "user_profile:signup_channel": {"value": None, "feature_ts": "2026-05-18T18:00:00Z",
                                    "age_seconds": 345600, "status": "PRESENT"},
    "user_profile:is_verified": {"value": True, "feature_ts": "2026-05-18T18:00:00Z",
                                 "age_seconds": 345600, "status": "PRESENT"},
    "user_profile:signed_up_at": {"value": "2024-01-02T03:04:05.123456Z",
                                  "feature_ts": "2026-05-18T18:00:00Z",
                                  "age_seconds": 345600, "status": "PRESENT"},
}
NO_PROFILE = {
    "user_profile:country": {"value": None, "feature_ts": None, "status": "MISSING"},
    "user_profile:signup_channel": {"value": None, "feature_ts": None, "status": "MISSING"},
    "user_profile:is_verified": {"value": False, "feature_ts": None, "status": "DEFAULT"},
    "user_profile:signed_up_at": {"value": None, "feature_ts": None, "status": "MISSING"},
}
USER_43 = {
    "user_transactions:txn_count_7d": {"value": 3, "feature_ts": "2026-04-22T18:00:00Z",
                                       "age_seconds": 2592000, "status": "STALE"},
    "user_transactions:txn_amount_avg_7d": {"value": None, "feature_ts": "2026-04-22T18:00:00Z",
                                            "age_seconds": 2592000, "status": "STALE"},
    **NO_PROFILE,
}
USER_44 = {
    "user_transactions:txn_count_7d": {"value": 0, "feature_ts": "2026-04-22T17:59:59.999999Z",
                                       "age_seconds": 2592000, "status": "EXPIRED"},
    "user_transactions:txn_amount_avg_7d": {"value": None,
                                            "feature_ts": "2026-04-22T17:59:59.999999Z",
                                            "age_seconds": 2592000, "status": "EXPIRED"},
    **NO_PROFILE,
}
USER_45 = {
    "user_transactions:txn_count_7d": {"value": 0, "feature_ts": None, "status": "DEFAULT"},
    "user_transactions:txn_amount_avg_7d": {"value": None, "feature_ts": None,
                                            "status": "MISSING"},
    **NO_PROFILE,
}


def test_get_answers_the_design_shape(seeded, catalog, serve):
    client, table = seeded
    url = serve(make_app(catalog, client, table, clock=lambda: NOW))
    answer = call(url, f"/v1/features/user/42?features={ASKED}")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.body == {"entity": "user", "results": [{"key": {"user_id": 42},
                                                          "features": USER_42}],
                           "degraded": False}


@pytest.mark.parametrize(("user_id", "expected"), [(43, USER_43), (44, USER_44),
                                                   (45, USER_45)])
def test_get_ttl_boundary_expired_default_and_missing(seeded, catalog, serve, user_id,
                                                      expected):
    client, table = seeded
    url = serve(make_app(catalog, client, table, clock=lambda: NOW))
    answer = call(url, f"/v1/features/user/{user_id}?features={ASKED}")
    assert answer.body == {"entity": "user", "results": [{"key": {"user_id": user_id},
                                                          "features": expected}],
                           "degraded": False}


def test_post_reads_several_entities_in_one_call(seeded, catalog, serve):
    client, table = seeded
    url = serve(make_app(catalog, client, table, clock=lambda: NOW))
    body = {"requests": [
        {"entity": "user", "keys": [{"user_id": 42}, {"user_id": "43"}, {"user_id": 44},
                                    {"user_id": 45}], "features": ASKED.split(",")},
        {"entity": "merchant", "keys": [{"merchant_id": 7}, {"merchant_id": 8}],
         "features": ["merchant_risk:chargeback_rate_30d", "merchant_risk:txn_count_7d"]},
    ]}
    answer = call(url, "/v1/features/retrieve", method="POST", body=json.dumps(body))
    assert answer.status == 200
    assert answer.body == {"results": [
        {"entity": "user", "key": {"user_id": 42}, "features": USER_42},
        {"entity": "user", "key": {"user_id": 43}, "features": USER_43},
        {"entity": "user", "key": {"user_id": 44}, "features": USER_44},
        {"entity": "user", "key": {"user_id": 45}, "features": USER_45},
        {"entity": "merchant", "key": {"merchant_id": 7}, "features": {
            "merchant_risk:chargeback_rate_30d": {"value": 0.025,
                                                  "feature_ts": "2026-05-22T17:30:00Z",
                                                  "age_seconds": 1800, "status": "PRESENT"},
            "merchant_risk:txn_count_7d": {"value": 120, "feature_ts": "2026-05-22T17:30:00Z",
                                           "age_seconds": 1800, "status": "PRESENT"}}},
        {"entity": "merchant", "key": {"merchant_id": 8}, "features": {
            "merchant_risk:chargeback_rate_30d": {"value": None, "feature_ts": None,
                                                  "status": "MISSING"},
            "merchant_risk:txn_count_7d": {"value": 0, "feature_ts": None,
                                           "status": "DEFAULT"}}},
    ], "degraded": False}


def test_two_column_key_and_whole_view_by_name(dynamodb_table, catalog, serve):
    client, table = dynamodb_table
    seed(client, table, catalog.views["device_seen_before"], [{
        "user_id": 42, "device_id": "d-0001", "feature_ts": dt.datetime(2026, 5, 22, 12),
        "device_txn_count": 5, "first_seen_at": dt.datetime(2026, 1, 1)}])
    url = serve(make_app(catalog, client, table, clock=lambda: NOW))
    answer = call(url, "/v1/features/user_device/42%7Cd-0001?features=device_seen_before")
    assert answer.body == {"entity": "user_device", "results": [
        {"key": {"user_id": 42, "device_id": "d-0001"}, "features": {
            "device_seen_before:device_txn_count": {
                "value": 5, "feature_ts": "2026-05-22T12:00:00Z", "age_seconds": 21600,
                "status": "PRESENT"},
            "device_seen_before:first_seen_at": {
                "value": "2026-01-01T00:00:00Z", "feature_ts": "2026-05-22T12:00:00Z",
                "age_seconds": 21600, "status": "PRESENT"}}}], "degraded": False}


def test_real_clock_ages_are_whole_seconds_since_feature_ts(dynamodb_table, catalog, serve):
    client, table = dynamodb_table
    written = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=5)
    seed(client, table, catalog.views["user_transactions"], [
        ut_row(1, written, txn_count_7d=2)])
    url = serve(make_app(catalog, client, table))
    answer = call(url, "/v1/features/user/1?features=user_transactions:txn_count_7d")
    value = answer.body["results"][0]["features"]["user_transactions:txn_count_7d"]
    assert value["status"] == "PRESENT" and value["value"] == 2
    assert 300 <= value["age_seconds"] <= 330
