"""Degradation, the cache, metrics, the catalog route and the serving log."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from featurestore.lookup import service
from featurestore.lookup.cache import TTLCache
from featurestore.lookup.serving_log import ServingLog
from featurestore.online.client import ensure_table
from featurestore.online.config import OnlineConfig
from featurestore.online.local import LocalDynamoDB
from tests.lookup.lookup_testkit import NOW, REPO_ROOT, call, make_app, seed
from tests.online_stores import FaultyStore, down, store_for
from tests.waiting import wait_until

F = "user_transactions:txn_count_7d"


def _metric(text: str, line_start: str) -> int:
    """The value of one sample of the Prometheus text (0 when not yet exported)."""
    found = [line.rsplit(" ", 1)[1] for line in text.splitlines()
             if line.startswith(line_start + " ")]
    return int(float(found[0])) if found else 0


@pytest.mark.slow
def test_killing_dynamodb_mid_run_degrades_to_defaults(catalog, serve):
    local = LocalDynamoDB(REPO_ROOT)  # our own instance: the session's one stays up
    endpoint = local.start()
    try:
        setup = OnlineConfig(endpoint=endpoint).client()
        # TTL sweeper off: this May item is past its 30-day TTL by the real clock, and
        # DynamoDB Local would delete it mid-test (a MISSING, not degraded, 0)
        ensure_table(setup, "degrade", ttl=False)
        seed(setup, "degrade", catalog.views["user_transactions"], [
            {"user_id": 1, "feature_ts": dt.datetime(2026, 5, 22, 17, 30), "txn_count_7d": 5}])
        # the endpoint's client: one attempt (the reader retries within its deadline)
        client = OnlineConfig(endpoint=endpoint).client(connect_timeout=0.1, read_timeout=0.2,
                                                        max_attempts=1)
        url = serve(make_app(catalog, client, "degrade", deadline_s=0.2, clock=lambda: NOW))
        path = f"/v1/features/user/1?features={F},user_transactions:last_txn_amount"
        # a fresh JVM's first reads (and any read on a loaded machine) can outlast the
        # 0.2 s deadline and degrade too: wait for one answer from the store, then count
        # from there
        def read_from_store():
            answer = call(url, path)
            return answer if answer.body["degraded"] is False else None

        before = wait_until(read_from_store, "an answer read from DynamoDB Local")
        assert before.body["results"][0]["features"][F]["value"] == 5
        metrics = call(url, "/metrics").body
        degraded = _metric(metrics, "featurestore_lookup_degraded_total")
        defaults = _metric(metrics, 'featurestore_lookup_values_total{status="DEFAULT",'
                                    'view="user_transactions"}')
        local.kill()
        for _ in range(20):  # answers keep coming, each one degraded to the defaults
            answer = call(url, path)
            assert (answer.status, answer.body) == (200, {
                "entity": "user", "degraded": True, "results": [{"key": {"user_id": 1},
                                                                 "features": {
                    F: {"value": 0, "feature_ts": None, "status": "DEFAULT"},
                    "user_transactions:last_txn_amount": {"value": None, "feature_ts": None,
                                                          "status": "DEFAULT"}}}]})
        metrics = call(url, "/metrics").body
        assert _metric(metrics, "featurestore_lookup_degraded_total") == degraded + 20
        assert _metric(metrics, 'featurestore_lookup_values_total{status="DEFAULT",'
                                'view="user_transactions"}') == defaults + 40
    finally:
        local.stop()


def test_a_missing_table_degrades_instead_of_failing(dynamodb_local, catalog):

    client = OnlineConfig(endpoint=dynamodb_local).client(max_attempts=1)
    requests = [service.entity_request(catalog, "user", [{"user_id": 1}], [F])]
    outcome = service.lookup(requests, store_for(client, "no_such_table"), now=NOW)
    assert outcome.degraded is True
    assert outcome.error.startswith("DynamoDB refused the read: ResourceNotFoundException")


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_cache_counts_hits_and_expires(dynamodb_table, catalog, serve):
    client, table = dynamodb_table
    view = catalog.views["user_transactions"]
    seed(client, table, view, [{"user_id": 1, "feature_ts": dt.datetime(2026, 5, 22, 17, 30),
                                "txn_count_7d": 5}])
    clock = FakeClock()
    cache = TTLCache(max_entries=10, ttl_s=1.0, clock=clock)
    url = serve(make_app(catalog, client, table, cache=cache, clock=lambda: NOW))
    path = f"/v1/features/user/1?features={F}"

    def value():
        return call(url, path).body["results"][0]["features"][F]["value"]

    assert value() == 5
    assert (cache.hits, cache.misses) == (0, 1)
    seed(client, table, view, [{"user_id": 1, "feature_ts": dt.datetime(2026, 5, 22, 17, 45),
                                "txn_count_7d": 6}])
    assert value() == 5  # served from the cache for up to its TTL
    assert (cache.hits, cache.misses) == (1, 1)
    clock.now += 1.0
    assert value() == 6  # expired: read again
    assert (cache.hits, cache.misses) == (1, 2)
    metrics = call(url, "/metrics").body
    assert "featurestore_lookup_cache_hits_total 1.0\n" in metrics
    assert "featurestore_lookup_cache_misses_total 2.0\n" in metrics


def test_cache_is_bounded_and_keyed_by_features(catalog):
    cache = TTLCache(max_entries=2, ttl_s=5, clock=FakeClock())
    view = catalog.views["user_transactions"]
    one, two = view.feature("txn_count_7d"), view.feature("txn_count_1h")
    cache.put(("user#1", "s"), (one,), (1, {"txn_count_7d": 1}))
    cache.put(("user#2", "s"), (one,), (1, {"txn_count_7d": 2}))
    cache.put(("user#3", "s"), (one,), (1, {"txn_count_7d": 3}))
    assert len(cache) == 2
    assert cache.get(("user#1", "s"), (one,)) is None  # the oldest went first
    assert cache.get(("user#3", "s"), (one,)) == (1, {"txn_count_7d": 3})
    assert cache.get(("user#3", "s"), (one, two)) is None  # read without txn_count_1h
    assert (cache.hits, cache.misses) == (1, 2)


def test_cache_serves_hits_while_dynamodb_is_down(catalog, online_store):
    cache = TTLCache(ttl_s=60)
    plan = service.entity_request(catalog, "user", [{"user_id": 1}], [F])
    cache.put((plan.pks[0], plan.views[0].sk), plan.views[0].features,
              (service.to_epoch_micros(dt.datetime(2026, 5, 22, 17)), {"txn_count_7d": 9}))
    outcome = service.lookup([plan], FaultyStore(online_store, get_error=down("down")),
                             now=NOW, cache=cache)
    assert outcome.degraded is False
    assert outcome.results[0][0]["features"][F]["value"] == 9


def test_healthz_metrics_and_catalog_have_no_values(dynamodb_table, catalog, serve):
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [{
        "user_id": 1, "feature_ts": dt.datetime(2026, 5, 22, 17, 30), "txn_count_7d": 5}])
    url = serve(make_app(catalog, client, table, clock=lambda: NOW,
                         built_at="2026-05-01T00:00:00Z"))
    health = call(url, "/healthz")
    assert (health.status, health.body) == (200, {"status": "ok", "views": 4,
                                                  "registry_built_at": "2026-05-01T00:00:00Z",
                                                  "store": {"status": "ok"}})
    views = call(url, "/v1/feature-views").body
    assert [v["name"] for v in views["feature_views"]] == [
        "device_seen_before", "merchant_risk", "user_profile", "user_transactions"]
    ut = views["feature_views"][3]
    assert {k: ut[k] for k in ("version", "entity", "owner", "ttl", "freshness_slo")} == {
        "version": 1, "entity": "user", "owner": "risk-ml", "ttl": "30d", "freshness_slo": "1h"}
    assert ut["features"][1] == {
        "name": "txn_count_7d", "dtype": "int64", "sensitivity": "internal", "default": 0,
        "description": "Transactions in the 7 days up to and including feature_ts."}
    assert '"value"' not in json.dumps(views) and "feature_ts\":" not in json.dumps(views)
    call(url, f"/v1/features/user/1?features={F},user_transactions:last_txn_amount")
    call(url, f"/v1/features/user/2?features={F},user_transactions:last_txn_amount")
    call(url, "/v1/features/user/x?features=" + F)
    metrics = call(url, "/metrics")
    assert metrics.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    text = metrics.body
    for line in (
        "# HELP featurestore_lookup_requests_total Requests answered, by route template and "
        "HTTP status.",
        "# TYPE featurestore_lookup_requests_total counter",
        'featurestore_lookup_requests_total{code="200",route="/v1/features/{entity}/{key}"} 2.0',
        'featurestore_lookup_requests_total{code="400",route="/v1/features/{entity}/{key}"} 1.0',
        'featurestore_lookup_requests_total{code="200",route="/healthz"} 1.0',
        "# TYPE featurestore_lookup_values_total counter",
        'featurestore_lookup_values_total{status="PRESENT",view="user_transactions"} 2.0',
        'featurestore_lookup_values_total{status="DEFAULT",view="user_transactions"} 1.0',
        'featurestore_lookup_values_total{status="MISSING",view="user_transactions"} 1.0',
        "# TYPE featurestore_lookup_latency_seconds histogram",
        "featurestore_lookup_latency_seconds_count 5.0",
        'featurestore_lookup_latency_seconds_bucket{le="+Inf"} 5.0',
        "featurestore_lookup_degraded_total 0.0",
        # the newest value served for the view (17:30, 1779471000 s) and its age on the
        # endpoint's clock (18:00)
        "# TYPE featurestore_lookup_newest_feature_ts_seconds gauge",
        'featurestore_lookup_newest_feature_ts_seconds{view="user_transactions"} 1.779471e+09',
        "# TYPE featurestore_lookup_lag_seconds gauge",
        'featurestore_lookup_lag_seconds{view="user_transactions"} 1800.0',
    ):
        assert line + "\n" in text, line
    assert 'lag_seconds{view="user_profile"}' not in text  # no value of it served yet


def test_serving_log_lines_locally(dynamodb_table, catalog, serve, tmp_path):
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [{
        "user_id": 1, "feature_ts": dt.datetime(2026, 5, 22, 17, 30), "txn_count_7d": 5}])
    folder = tmp_path / "serving_log"
    url = serve(make_app(catalog, client, table, clock=lambda: NOW,
                         serving_log=ServingLog(folder=folder)))
    body = {"entity": "user", "keys": [{"user_id": 1}, {"user_id": 2}], "features": [F]}
    answer = call(url, "/v1/features/retrieve", method="POST", body=json.dumps(body),
                  headers={"x-model-name": "fraud-v3"})
    request_id = answer.headers["x-request-id"]
    [path] = folder.glob("serving-*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        assert dt.datetime.strptime(line.pop("ts"), "%Y-%m-%dT%H:%M:%S.%fZ")
        assert 0 < line.pop("latency_ms") < 10_000  # the handler's time, one per request
    assert lines == [
        {"request_id": request_id, "model": "fraud-v3", "entity": "user",
         "key": {"user_id": 1}, "features": {F: {"value": 5,
                                                 "feature_ts": "2026-05-22T17:30:00Z",
                                                 "status": "PRESENT"}}},
        {"request_id": request_id, "model": "fraud-v3", "entity": "user",
         "key": {"user_id": 2}, "features": {F: {"value": 0, "feature_ts": None,
                                                 "status": "DEFAULT"}}}]


def test_serving_log_sampling_is_per_request(catalog, tmp_path):
    log = ServingLog(sample_rate=0.0, folder=tmp_path)
    outcome = service.LookupOutcome([[{"key": {"user_id": 1}, "features": {}}]], False, {})
    requests = [service.entity_request(catalog, "user", [{"user_id": 1}], [F])]
    assert log.record("r", None, requests, outcome) == 0
    assert list(tmp_path.iterdir()) == []
    assert ServingLog(sample_rate=1.0, folder=tmp_path).record("r", None, requests,
                                                               outcome) == 1
