"""``/metrics`` of ``featurestore serve``: Prometheus text by prometheus_client (HELP, TYPE,
escaped labels), behind the key the catalog needs; and no ``Server`` header anywhere
(issue 17 item 12, issue 18 item 6)."""

from __future__ import annotations

import json
import re

import pytest

from featurestore.lookup.access import AccessPolicy, hash_key
from featurestore.lookup.handler import LookupApp
from featurestore.lookup.metrics import Metrics
from tests.lookup.lookup_testkit import call

KEYS = json.dumps({"keys": [
    {"name": "ops", "sha256": hash_key("k-ops"), "sensitivities": ["public", "internal"],
     "views": ["*"]},
    {"name": "public-only", "sha256": hash_key("k-public"), "sensitivities": ["public"],
     "views": ["*"]},
    {"name": "one-view", "sha256": hash_key("k-view"),
     "sensitivities": ["public", "internal", "pii"], "views": ["user_transactions"]}]})
FAMILIES = ("featurestore_lookup_requests_total", "featurestore_lookup_latency_seconds",
            "featurestore_lookup_values_total", "featurestore_lookup_degraded_total",
            "featurestore_lookup_version_unavailable_total",
            "featurestore_lookup_newest_feature_ts_seconds", "featurestore_lookup_lag_seconds",
            "featurestore_lookup_cache_hits_total", "featurestore_lookup_cache_misses_total")


@pytest.fixture
def keyed_url(catalog, serve, online_store):
    return serve(LookupApp(catalog, online_store, access=AccessPolicy.from_config(KEYS, "k")))


@pytest.mark.parametrize(("key", "status", "message"), [
    (None, 401, "missing API key: send it in the `x-api-key` header"),
    ("guess", 401, "unknown API key: the `x-api-key` header matches no configured key"),
    ("k-public", 403, "API key `public-only` may not read /metrics: it shows internal "
                      "features of every view; use a key granted `internal` on every view"),
    ("k-view", 403, "API key `one-view` may not read /metrics: it shows internal features "
                    "of every view; use a key granted `internal` on every view"),
])
def test_metrics_need_a_key_granted_internal_on_every_view(keyed_url, key, status, message):
    answer = call(keyed_url, "/metrics", headers={"x-api-key": key} if key else {})
    assert (answer.status, answer.body) == (status, {
        "error": "unauthorized" if status == 401 else "forbidden", "message": message})
    assert "featurestore_lookup" not in json.dumps(answer.body)


def test_metrics_with_an_operations_key_or_anonymous_on_loopback(keyed_url, catalog, serve,
                                                                 online_store):
    answer = call(keyed_url, "/metrics", headers={"x-api-key": "k-ops"})
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    # no key configured, anonymous access (featurestore serve on loopback): as before
    anonymous = serve(LookupApp(catalog, online_store, access=AccessPolicy(None)))
    assert call(anonymous, "/metrics").status == 200
    refused = call(anonymous, "/metrics", method="POST", body="{}")
    assert (refused.status, refused.body["message"]) == (405, "/metrics answers GET, not POST")


def test_every_family_has_help_and_type(keyed_url):
    call(keyed_url, "/healthz")
    text = call(keyed_url, "/metrics", headers={"x-api-key": "k-ops"}).body
    for family in FAMILIES:
        kind = "histogram" if family.endswith("latency_seconds") else (
            "counter" if family.endswith("_total") else "gauge")
        assert re.search(rf"^# HELP {family} \S.+$", text, re.M), family
        assert f"# TYPE {family} {kind}\n" in text, family
    for line in text.splitlines():  # every sample is of a family with its HELP and TYPE
        if not line.startswith("#"):
            assert line.split("{")[0].split(" ")[0].removesuffix("_bucket").removesuffix(
                "_count").removesuffix("_sum") in FAMILIES, line


def test_label_values_are_escaped():
    metrics = Metrics()
    metrics.observe('/a"b\\c\nd', 200, 0.001, {('v"1', "PRESENT"): 3})
    _, text = metrics.prometheus(now_us=0)
    assert 'featurestore_lookup_requests_total{code="200",route="/a\\"b\\\\c\\nd"} 1.0\n' \
        in text
    assert 'featurestore_lookup_values_total{status="PRESENT",view="v\\"1"} 3.0\n' in text
    assert len([line for line in text.splitlines() if "route=" in line]) == 1


def test_no_server_header(keyed_url):
    for path, headers in (("/healthz", {}), ("/metrics", {"x-api-key": "k-ops"}),
                          ("/nowhere", {}), ("/metrics", {})):
        answer = call(keyed_url, path, headers=headers)
        assert "server" not in answer.headers, (path, answer.headers)
        assert answer.headers["date"].endswith(" GMT")
