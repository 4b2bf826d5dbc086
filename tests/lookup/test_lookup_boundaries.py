"""The status rule at its edges, to the microsecond: the freshness SLO and the ttl are
both inclusive (an age of exactly the bound is still on the young side), as offline.

Each boundary is checked from both sides, so that turning a `>` into `>=` (or the other
way) in ``status.stored_status`` fails here.
"""

from __future__ import annotations

import datetime as dt

import pytest

from featurestore.lookup import service
from featurestore.online.items import encode_item, to_epoch_micros
from tests.lookup.lookup_testkit import NOW
from tests.online_stores import store_for

US = dt.timedelta(microseconds=1)
SLO = dt.timedelta(hours=1)  # user_transactions: freshness_slo 1h, ttl 30d
TTL = dt.timedelta(days=30)
F = "user_transactions:txn_count_7d"


@pytest.mark.parametrize(("age", "status", "value"), [
    (SLO - US, "PRESENT", 7),
    (SLO, "PRESENT", 7),  # exactly the SLO: not yet stale
    (SLO + US, "STALE", 7),
    (TTL - US, "STALE", 7),
    (TTL, "STALE", 7),  # exactly the ttl: not yet expired (the offline rule)
    (TTL + US, "EXPIRED", 0),  # the contract's default, as training saw it
    (dt.timedelta(0), "PRESENT", 7),
    (-US, "PRESENT", 7),  # a feature_ts ahead of this clock
])
def test_status_at_and_around_each_bound(catalog, dynamodb_table, age, status, value):
    client, table = dynamodb_table
    view = catalog.views["user_transactions"]
    assert (view.freshness_slo_seconds, view.ttl_seconds) == (3600, 30 * 86400)
    feature_ts = NOW - age
    item = encode_item(view, {"user_id": 1, "feature_ts": feature_ts, "txn_count_7d": 7},
                       to_epoch_micros(NOW))
    requests = [service.entity_request(catalog, "user", [{"user_id": 1}], [F])]
    client.put_item(TableName=table, Item=item)
    outcome = service.lookup(requests, store_for(client, table), now=NOW)
    answer = outcome.results[0][0]["features"][F]
    assert (answer["status"], answer["value"]) == (status, value)
    assert answer["age_seconds"] == (age // US) // 1_000_000  # floored: -1 µs is -1 s
    assert outcome.status_counts == {("user_transactions", status): 1}
