"""A table in two regions (issue 21, item 4): the lookup reads the replica when the primary
does not answer, names the region in every answer, and degrades only when both are down.

Two DynamoDB Locals stand for the two regions (a global table's replication is AWS's; the
items are written to both here, as the replication would).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from featurestore.errors import StoreUnavailable
from featurestore.lookup.handler import LookupApp
from featurestore.online.client import ensure_table
from featurestore.online.config import OnlineConfig
from featurestore.online.dynamodb import DynamoDBStore
from featurestore.online.failover import FailoverStore, lookup_store
from featurestore.online.local import LocalDynamoDB
from featurestore.online.store import OnlineStore
from tests.lookup.lookup_testkit import NOW, REPO_ROOT, call, seed
from tests.online_stores import FaultyStore, down
from tests.waiting import wait_until

F = "user_transactions:txn_count_7d"
TABLE = "regional"
PATH = f"/v1/features/user/1?features={F}"
ROW = {"user_id": 1, "feature_ts": dt.datetime(2026, 5, 22, 17, 30), "txn_count_7d": 5}
PRESENT = {"value": 5, "feature_ts": "2026-05-22T17:30:00Z", "age_seconds": 1800,
           "status": "PRESENT"}


def _metric(text: str, line_start: str) -> int:
    found = [line.rsplit(" ", 1)[1] for line in text.splitlines()
             if line.startswith(line_start + " ")]
    return int(float(found[0])) if found else 0


def _region(endpoint: str, catalog) -> None:
    """The feature table at ``endpoint``, holding the one item (as replicated)."""
    client = OnlineConfig(endpoint=endpoint).client()
    ensure_table(client, TABLE, ttl=False)  # no TTL sweep of this May item
    seed(client, TABLE, catalog.views["user_transactions"], [ROW])


class Traffic:
    """Lookups sent one after another from a thread of their own until ``stop``; every
    answer kept as (HTTP status, body)."""

    def __init__(self, url: str):
        self.url, self.answers = url, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="traffic")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            answer = call(self.url, PATH)
            self.answers.append((answer.status, answer.body))

    def count(self, region: str) -> int:
        return sum(1 for _status, body in list(self.answers)
                   if isinstance(body, dict) and body.get("region") == region)

    def stop(self) -> list:
        self._stop.set()
        self._thread.join()
        return self.answers


@pytest.mark.slow
def test_killing_the_primary_mid_traffic_fails_over_then_both_down_degrades(catalog, serve):
    primary, replica = LocalDynamoDB(REPO_ROOT), LocalDynamoDB(REPO_ROOT)
    try:
        config = OnlineConfig(table=TABLE, endpoint=primary.start(), region="us-east-1",
                              replica_region="us-west-2", replica_endpoint=replica.start())
        _region(config.endpoint, catalog)
        _region(config.replica_endpoint, catalog)
        # a deadline no loaded machine reaches: the failover, not the budget, is tested
        app = LookupApp(catalog, lookup_store(config, deadline_s=20.0), clock=lambda: NOW)
        url = serve(app)
        traffic = Traffic(url)
        wait_until(lambda: traffic.count("us-east-1") >= 5, "5 answers from the primary")
        primary.kill()
        wait_until(lambda: traffic.count("us-west-2") >= 20, "20 answers from the replica")
        answers = traffic.stop()
        # no answer failed, none degraded: each one the stored value, from one region
        regions = [body.get("region") for _status, body in answers]
        assert [(status, body) for status, body in answers] == [
            (200, {"entity": "user", "region": region, "degraded": False,
                   "results": [{"key": {"user_id": 1}, "features": {F: PRESENT}}]})
            for region in regions]
        first_replica = regions.index("us-west-2")
        assert set(regions[:first_replica]) == {"us-east-1"}
        assert set(regions[first_replica:]) == {"us-west-2"}  # the primary stays dead
        metrics = call(url, "/metrics").body
        assert _metric(metrics, 'featurestore_lookup_region_answers_total{region='
                                '"us-west-2"}') == len(regions) - first_replica
        assert _metric(metrics, 'featurestore_lookup_region_answers_total{region='
                                '"us-east-1"}') == first_replica
        assert _metric(metrics, "featurestore_lookup_degraded_total") == 0

        health = call(url, "/healthz").body
        assert (health["status"], health["replica"]) == (
            "degraded", {"region": "us-west-2", "status": "ok"})
        assert (health["store"]["region"], health["store"]["status"]) == (
            "us-east-1", "unavailable")
        assert health["store"]["message"].startswith(
            "the primary region (us-east-1) cannot be read: DynamoDB is unreachable")
        ready = call(url, "/readyz")
        assert (ready.status, ready.body["status"], ready.body["regions"]) == (
            200, "ready", {"us-east-1": "unavailable", "us-west-2": "ok"})

        replica.kill()  # both down: the contract's defaults, marked degraded, no region
        answer = call(url, PATH)
        assert (answer.status, answer.body) == (200, {
            "entity": "user", "region": None, "degraded": True, "results": [{
                "key": {"user_id": 1},
                "features": {F: {"value": 0, "feature_ts": None, "status": "DEFAULT"}}}]})
        ready = call(url, "/readyz")
        assert (ready.status, ready.body["error"], ready.body["regions"]) == (
            503, "unavailable", {"us-east-1": "unavailable", "us-west-2": "unavailable"})
        assert call(url, "/healthz").body["replica"]["status"] == "unavailable"
    finally:
        primary.stop()
        replica.stop()


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def regions(dynamodb_local, dynamodb_table, catalog):
    """Two stores over one DynamoDB Local's table, named as two regions, each holding
    the item (``(primary, replica)``, each a FaultyStore to fail on demand)."""
    client, table = dynamodb_table
    seed(client, table, catalog.views["user_transactions"], [ROW])

    def store(region: str) -> FaultyStore:
        config = OnlineConfig(table=table, endpoint=dynamodb_local, region=region)
        return FaultyStore(DynamoDBStore(config, client=client, deadline_s=10.0))

    return store("eu-west-1"), store("eu-central-1")


KEYS, ATTRIBUTES = [("user#1", "user_transactions#v1")], ["txn_count_7d"]


def test_a_read_names_the_region_that_answered(regions):
    primary, replica = regions
    clock = Clock()
    store = FailoverStore(primary, replica, clock=clock)
    assert isinstance(store, OnlineStore)
    assert store.regions == {"primary": "eu-west-1", "replica": "eu-central-1"}
    found = store.get(KEYS, ATTRIBUTES)
    assert (found.region, found[KEYS[0]]["txn_count_7d"]) == ("eu-west-1", {"N": "5"})
    primary.get_error = down()
    found = store.get(KEYS, ATTRIBUTES)
    assert (found.region, found[KEYS[0]]["txn_count_7d"]) == ("eu-central-1", {"N": "5"})
    assert (primary.calls, replica.calls, store.failovers) == (2, 1, 1)


def test_a_failed_primary_is_skipped_for_a_second_then_tried_again(regions):
    primary, replica = regions
    clock = Clock()
    store = FailoverStore(primary, replica, clock=clock, probe_after_s=1.0)
    primary.get_error = down()
    assert store.get(KEYS, ATTRIBUTES).region == "eu-central-1"
    clock.now = 100.999  # within the second: the primary is not asked
    assert store.get(KEYS, ATTRIBUTES).region == "eu-central-1"
    assert primary.calls == 1
    primary.get_error = None  # back
    clock.now = 101.0
    assert store.get(KEYS, ATTRIBUTES).region == "eu-west-1"
    assert (primary.calls, replica.calls) == (2, 2)


def test_both_regions_down_is_unavailable_naming_both(regions):
    primary, replica = regions
    primary.get_error = down("DynamoDB is unreachable: refused (east)")
    replica.get_error = down("DynamoDB is unreachable: refused (central)")
    store = FailoverStore(primary, replica, clock=Clock())
    with pytest.raises(StoreUnavailable) as raised:
        store.get(KEYS, ATTRIBUTES)
    assert str(raised.value) == (
        "primary eu-west-1: DynamoDB is unreachable: refused (east); "
        "replica eu-central-1: DynamoDB is unreachable: refused (central)")
    # the replica was asked first (the primary had just failed), then the primary
    with pytest.raises(StoreUnavailable) as raised:
        store.get(KEYS, ATTRIBUTES)
    assert str(raised.value).startswith("replica eu-central-1: ")


def test_writes_and_markers_go_to_the_primary_only(regions):
    primary, replica = regions
    store = FailoverStore(primary, replica)
    assert store.put_marker("_test#one", {"owner": "me"}, absent=True) is True
    assert primary.store.read_markers(["_test#one"]) == {"_test#one": {"owner": "me"}}
    assert store.store_id() == primary.store.store_id()


def test_one_region_has_no_region_in_its_answers(dynamodb_local):
    store = lookup_store(OnlineConfig(table=TABLE, endpoint=dynamodb_local), deadline_s=1.0)
    assert isinstance(store, DynamoDBStore)
    assert getattr(store, "regions", None) is None


def test_a_replica_shares_the_lookup_deadline(dynamodb_local):
    config = OnlineConfig(table=TABLE, endpoint=dynamodb_local, region="a-1",
                          replica_region="b-2", replica_endpoint="http://127.0.0.1:9")
    store = lookup_store(config, deadline_s=0.25)
    assert (store.primary.deadline_s, store.replica.deadline_s) == (0.125, 0.125)
    assert (store.primary.config.endpoint, store.replica.config.endpoint) == (
        dynamodb_local, "http://127.0.0.1:9")
    assert store.regions == {"primary": "a-1", "replica": "b-2"}
