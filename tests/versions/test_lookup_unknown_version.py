"""A lookup that cannot reload its contracts (a Lambda: its registry snapshot is bundled)
answers a 503 naming the view, the version served and the versions it knows when the
serving pointer names a version it lacks, or a retired one; it never serves another
version's values or defaults in its place, and counts each refusal in its metrics."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from featurestore.lookup.handler import LookupApp
from featurestore.lookup.metrics import Metrics
from featurestore.lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
from featurestore.online.items import encode_item, to_epoch_micros
from featurestore.online.serving import Pointer
from tests.core.conftest import project  # noqa: F401  (the fixture)
from tests.online_stores import store_for
from tests.versions.test_shadow import event
from tests.versions.test_version_contracts import add_v2

VIEW = "user_transactions"
NOW = dt.datetime(2026, 5, 22, 18, 0, 0)
TS = NOW - dt.timedelta(minutes=5)


@pytest.fixture
def deployed(project, dynamodb_table):  # noqa: F811
    """A Lambda-style app whose bundled snapshot was built before v2 was declared, over a
    table holding user 1 in v1 and v2; (app, client, table, EMF stream)."""
    client, table = dynamodb_table
    bundled = catalog_from_snapshot(build_snapshot(project.catalog()),
                                    "/var/task/featurestore/lookup/registry.json")
    add_v2(project)
    catalog = project.catalog()
    written = to_epoch_micros(NOW)
    client.put_item(TableName=table, Item=encode_item(catalog.view_version(VIEW, 1), {
        "user_id": 1, "feature_ts": TS, "txn_count_7d": 4, "txn_count_1h": 1}, written))
    client.put_item(TableName=table, Item=encode_item(catalog.view_version(VIEW, 2), {
        "user_id": 1, "feature_ts": TS, "txn_count_7d": 5, "txn_count_24h": 3}, written))
    emf = io.StringIO()
    app = LookupApp(bundled, store_for(client, table, deadline_s=2.0), serving_log=None,
                    metrics=Metrics(emf_stream=emf), clock=lambda: NOW)
    return app, client, table, emf


def promote(client, table, served: int, retired=frozenset()) -> None:
    store_for(client, table).write_pointer(
        Pointer(VIEW, served, 1, frozenset(retired), "e-1", "promote", served,
                to_epoch_micros(NOW), "alice", "24h"), Pointer(VIEW))


def get(app, features: str) -> tuple[int, dict]:
    answer = app.handle(event("/v1/features/user/1", {"features": features}))
    return answer["statusCode"], json.loads(answer["body"])


def test_a_pointer_to_a_version_the_snapshot_lacks_is_a_503_naming_it(deployed):
    app, client, table, emf = deployed
    assert get(app, f"{VIEW}:txn_count_7d")[1]["results"][0]["features"][
        f"{VIEW}:txn_count_7d"]["value"] == 4  # v1, before the promotion
    promote(client, table, 2)
    app.versions.refresh_s = 0  # read the pointers on every request

    code, body = get(app, f"{VIEW}:txn_count_7d")
    assert code == 503
    assert body == {
        "error": "version_unavailable",
        "message": "feature view `user_transactions`: its serving pointer (DynamoDB) serves "
                   "v2, which this lookup does not know: its contracts "
                   "(/var/task/featurestore/lookup/registry.json) have v1. Redeploy the "
                   "lookup with a registry snapshot that has it (`featurestore "
                   "package-lambda`, then deploy the zip: deploy/README.md); meanwhile "
                   "`user_transactions@vN` reads a version it knows",
        "details": {"view": VIEW, "served_version": 2, "known_versions": [1],
                    "fix": "Redeploy the lookup with a registry snapshot that has it "
                           "(`featurestore package-lambda`, then deploy the zip: "
                           "deploy/README.md); meanwhile `user_transactions@vN` reads a "
                           "version it knows"}}
    # a POST is refused the same way; other views, and a pin of a version it knows, are
    # still answered
    post = app.handle({**event("/v1/features/retrieve", {}), "body": json.dumps(
        {"entity": "user", "keys": [{"user_id": 1}], "features": [VIEW]}),
        "requestContext": {"http": {"method": "POST"}, "requestId": "r2"}})
    assert post["statusCode"] == 503
    assert get(app, "user_profile:country")[0] == 200
    code, body = get(app, f"{VIEW}@v1:txn_count_7d")
    assert (code, body["results"][0]["features"][f"{VIEW}@v1:txn_count_7d"]["value"]) == \
        (200, 4)

    _, metrics = app.prometheus()
    assert 'featurestore_lookup_version_unavailable_total{view="user_transactions"} 2.0' in \
        metrics.splitlines()
    assert ('featurestore_lookup_requests_total{code="503",'
            'route="/v1/features/{entity}/{key}"} 1.0') in metrics.splitlines()
    assert "featurestore_lookup_degraded_total 0.0" in metrics.splitlines()
    documents = [json.loads(line) for line in emf.getvalue().splitlines()]
    refused = [d for d in documents if d.get("VersionUnavailable")]
    assert [(d["View"], d["VersionUnavailable"]) for d in refused] == [(VIEW, 1), (VIEW, 1)]
    assert {"Name": "VersionUnavailable", "Unit": "Count"} in \
        refused[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert app.versions.reloads == 0  # it has nothing to reload from


def test_a_pointer_that_serves_a_retired_version_is_a_503(deployed):
    app, client, table, _ = deployed
    promote(client, table, 1, retired={1})  # written by hand: promote refuses this
    app.versions.refresh_s = 0
    code, body = get(app, f"{VIEW}:txn_count_7d")
    assert code == 503
    assert body["message"] == (
        "feature view `user_transactions`: its serving pointer (DynamoDB) serves v1, which "
        "is retired; a retired version is never served. Promote a live version (none is "
        "left): `featurestore promote user_transactions --version N --reason ...`")
    assert body["details"]["served_version"] == 1
    # and a pin of it is a 400 naming it
    code, body = get(app, f"{VIEW}@v1:txn_count_7d")
    assert (code, body["message"]) == (400, "version 1 of feature view `user_transactions` "
                                            "is retired: it is no longer served. Ask for "
                                            "user_transactions instead")


def test_every_pointer_is_served_as_named_or_refused(project):  # noqa: F811
    """Every pointer over versions 1-3 (served, retired), against contracts with v1 only
    and with v1 and v2: an unpinned read gets exactly the version the pointer serves (the
    base without one), known and live, or a VersionUnavailable naming it."""
    from itertools import chain, combinations

    from featurestore.errors import VersionUnavailable
    from featurestore.lookup import service
    from featurestore.lookup.versions import judge

    one = catalog_from_snapshot(build_snapshot(project.catalog()))
    add_v2(project)
    two = catalog_from_snapshot(build_snapshot(project.catalog()))
    subsets = list(chain.from_iterable(combinations((1, 2, 3), n) for n in range(4)))
    checked = refused = 0
    for catalog, known in ((one, {1}), (two, {1, 2})):
        entity = catalog.entities["user"]
        for served in (None, 1, 2, 3):
            for retired in subsets:
                pointer = Pointer(VIEW, served, None, frozenset(retired),
                                  None if served is None and not retired else "e")
                snapshot = judge(catalog, {VIEW: pointer}, 1.0, lambda view: "fix")
                wanted = 1 if served is None else served
                try:
                    (plan,) = service.resolve_features(catalog, entity, VIEW, snapshot)
                except VersionUnavailable as exc:
                    refused += 1
                    assert wanted not in known or wanted in retired, (served, retired)
                    assert (exc.view, exc.served, exc.known) == (VIEW, wanted, sorted(known))
                else:
                    assert wanted in known and wanted not in retired, (served, retired)
                    assert plan.view.version == wanted
                checked += 1
    assert (checked, refused) == (64, 44)


def test_a_local_lookup_reloads_once_and_again_after_the_retry_interval(project,  # noqa: F811
                                                                        dynamodb_table):
    """A lookup that can reload (`featurestore serve`) but whose contracts still lack the
    version served answers 503 with the local fix, reloads no more than once per
    RELOAD_RETRY_S, and serves the version once its contracts have it."""
    from featurestore.lookup.versions import RELOAD_RETRY_S

    client, table = dynamodb_table
    before = catalog_from_snapshot(build_snapshot(project.catalog()), "feature_defs/")
    add_v2(project)
    after = catalog_from_snapshot(build_snapshot(project.catalog()), "feature_defs/")
    client.put_item(TableName=table, Item=encode_item(after.view_version(VIEW, 2), {
        "user_id": 1, "feature_ts": TS, "txn_count_7d": 5, "txn_count_24h": 3},
        to_epoch_micros(NOW)))
    contracts = [before]  # what a reload finds: v1 only until the contract is edited
    app = LookupApp(before, store_for(client, table, deadline_s=2.0), serving_log=None,
                    clock=lambda: NOW, reload=lambda: (contracts[0], "reloaded"))
    now = [100.0]
    app.versions.clock = lambda: now[0]
    promote(client, table, 2)

    code, body = get(app, f"{VIEW}:txn_count_24h")
    assert (code, body["details"]["fix"]) == (503, (
        "Declare it in the view's contract (`versions:`, feature_defs/); this lookup reloads "
        "its contracts again 30 s after it last tried, or restart it"))
    assert app.versions.reloads == 1  # tried, found nothing new
    contracts[0] = after
    now[0] += RELOAD_RETRY_S - 1  # pointers read again, the same unknown: no reload yet
    assert get(app, f"{VIEW}:txn_count_24h")[0] == 503
    assert app.versions.reloads == 1
    now[0] += 1
    code, body = get(app, f"{VIEW}:txn_count_24h")
    assert (code, body["versions"], app.versions.reloads, app.built_at) == (200, {VIEW: 2}, 2,
                                                                           "reloaded")
    assert body["results"][0]["features"][f"{VIEW}:txn_count_24h"]["value"] == 3
