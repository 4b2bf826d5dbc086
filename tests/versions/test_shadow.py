"""Shadow reads: a request's `shadow` (or its API key's) reads another version of a view
in the same BatchGetItem, answers only the version served, and logs both; `compare
--live` judges the pairs of answers the log holds."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from featurestore.lookup.access import AccessPolicy, hash_key
from featurestore.lookup.handler import LookupApp
from featurestore.lookup.serving_log import ServingLog
from featurestore.online.items import encode_item, to_epoch_micros
from tests.core.conftest import project  # noqa: F401  (the fixture)
from tests.online_stores import FaultyStore, store_for
from tests.versions.test_version_contracts import add_v2

VIEW = "user_transactions"
NOW = dt.datetime(2026, 5, 22, 18, 0, 0)
TS = NOW - dt.timedelta(minutes=5)


def event(path: str, query: dict, headers: dict | None = None) -> dict:
    from urllib.parse import urlencode

    return {"version": "2.0", "routeKey": "$default", "rawPath": path,
            "rawQueryString": urlencode(query), "queryStringParameters": query,
            "headers": headers or {},
            "requestContext": {"http": {"method": "GET", "path": path,
                                        "sourceIp": "127.0.0.1"},
                               "requestId": "r1", "stage": "$default"}}


@pytest.fixture
def shadow_app(project, dynamodb_table, tmp_path):  # noqa: F811
    client, table = dynamodb_table
    add_v2(project)
    catalog = project.catalog()
    v1, v2 = catalog.view_version(VIEW, 1), catalog.view_version(VIEW, 2)
    written = to_epoch_micros(NOW)
    for user, count in ((1, 4), (2, 9)):
        client.put_item(TableName=table, Item=encode_item(v1, {
            "user_id": user, "feature_ts": TS, "txn_count_7d": count, "txn_count_1h": 1},
            written))
        client.put_item(TableName=table, Item=encode_item(v2, {
            "user_id": user, "feature_ts": TS, "txn_count_7d": count + (user == 2),
            "txn_count_24h": 3}, written))
    access = AccessPolicy.from_config(json.dumps({"keys": [
        {"name": "fraud", "sha256": hash_key("k-fraud"), "sensitivities": ["internal"],
         "views": ["*"], "shadow": [f"{VIEW}@v2"]},
        {"name": "plain", "sha256": hash_key("k-plain"), "sensitivities": ["internal"],
         "views": ["*"]}]}), "test keys")
    log = ServingLog(sample_rate=1.0, folder=tmp_path / "log")
    # the real store, counting its reads
    app = LookupApp(catalog, FaultyStore(store_for(client, table, deadline_s=2.0)),
                    access=access,
                    serving_log=log, clock=lambda: NOW)
    return app, tmp_path / "log", project


def lines(folder) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl"))
            for line in path.read_text().splitlines()]


def test_a_shadow_is_read_in_the_same_batch_and_only_logged(shadow_app):
    app, folder, _ = shadow_app
    answer = app.handle(event("/v1/features/user/2", {
        "features": f"{VIEW}:txn_count_7d", "shadow": f"{VIEW}@v2"}, {"x-api-key": "k-plain"}))
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 200
    assert body["results"][0]["features"][f"{VIEW}:txn_count_7d"]["value"] == 9
    assert body["versions"] == {VIEW: 1} and "shadow" not in answer["body"]
    pointer_reads = app.versions.reads
    assert app.store.calls == 1 + pointer_reads  # served and shadow: one BatchGetItem
    (line,) = lines(folder)
    assert line["features"][f"{VIEW}:txn_count_7d"]["value"] == 9
    assert line["shadow"] == {f"{VIEW}@v2:txn_count_7d": {
        "value": 10, "feature_ts": TS.isoformat() + "Z", "status": "PRESENT"}}


def test_an_api_key_can_carry_a_shadow_version(shadow_app):
    app, folder, _ = shadow_app
    for key in ("k-fraud", "k-plain"):
        answer = app.handle(event("/v1/features/user/1", {"features": f"{VIEW}:txn_count_7d"},
                                  {"x-api-key": key}))
        assert answer["statusCode"] == 200
    fraud, plain = lines(folder)
    assert fraud["shadow"] == {f"{VIEW}@v2:txn_count_7d": {
        "value": 4, "feature_ts": TS.isoformat() + "Z", "status": "PRESENT"}}
    assert "shadow" not in plain


@pytest.mark.parametrize(("shadow", "message"), [
    (f"{VIEW}@v9", f"shadow `{VIEW}@v9`: feature view `{VIEW}` has no version 9; its versions: "
                   "v1, v2"),
    (f"{VIEW}", f"shadow `{VIEW}`: name a view version, like `user_transactions@v2` (all "
                "the features asked of the view are read at that version too)"),
    ("merchant_risk@v1", "shadow `merchant_risk@v1`: this request reads no feature of "
                         "`merchant_risk`; a shadow version is read beside the features "
                         "asked of its view"),
])
def test_a_bad_shadow_is_a_400_naming_it(shadow_app, shadow, message):
    app, _, _ = shadow_app
    answer = app.handle(event("/v1/features/user/1", {
        "features": f"{VIEW}:txn_count_7d", "shadow": shadow}, {"x-api-key": "k-plain"}))
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["message"] == message


def test_compare_live_judges_the_logged_pairs(shadow_app):
    from featurestore.apps.versions.comparison import compare_live

    app, folder, made = shadow_app
    for user in (1, 2, 2):
        app.handle(event(f"/v1/features/user/{user}", {"features": f"{VIEW}:txn_count_7d"},
                         {"x-api-key": "k-fraud"}))
    catalog = made.catalog()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = compare_live(folder, catalog.view_version(VIEW, 1), catalog.view_version(VIEW, 2),
                          now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1))
    feature = next(f for f in report.features if f.name == "txn_count_7d")
    assert (feature.entities_both, feature.changed) == (3, 2)
    assert (feature.null_rate_from, feature.null_rate_to) == (0.0, 0.0)
    # 9 -> 10 stays in the top decile of v1's values: the distributions agree
    assert feature.psi == pytest.approx(0.0, abs=1e-9)
    assert report.newest == {1: TS, 2: TS}
    assert {c.expectation: c.passed for c in report.checks
            if "txn_count_7d" in c.expectation} == {
        "psi(txn_count_7d) v1->v2": True, "null_rate_diff(txn_count_7d) v1->v2": True,
        "changed_share(txn_count_7d) v1->v2": True}
    assert {c.suite for c in report.checks} == {"shadow"}


def test_compare_live_reports_frozen_parameters_beside_the_live_values(shadow_app):
    """A feature service's parameters frozen on v1 of the view: `compare --live` shows
    them beside the same statistics of v1's served values, and leaves them as they are."""
    from featurestore.apps.versions.comparison import render
    from featurestore.apps.versions.promote import compare
    from featurestore.feature_services.load import load_services
    from featurestore.feature_services.param_registry import freeze, parameter_sets
    from featurestore.warehouse import Warehouse

    app, folder, made = shadow_app
    for user in (1, 2, 2):
        app.handle(event(f"/v1/features/user/{user}", {"features": f"{VIEW}:txn_count_7d"},
                         {"x-api-key": "k-fraud"}))
    (made.root / "feature_services").mkdir()
    (made.root / "feature_services" / "m.yml").write_text(
        "name: m\nversion: 1\nentity: user\ndescription: d\nfeatures:\n"
        f"  - {VIEW}:txn_count_7d\ntransformations:\n"
        f"  - {{feature: {VIEW}:txn_count_7d, kind: zscore}}\n")
    service = load_services(made.root, made.catalog())["m"]
    document = {"service": "m", "service_version": 1, "service_hash": service.service_hash(),
                "features": [{"name": f"{VIEW}:txn_count_7d", "ref": f"{VIEW}:txn_count_7d",
                              "view": VIEW, "version": 1, "feature": "txn_count_7d",
                              "dtype": "int64", "column": f"{VIEW}__txn_count_7d"}],
                "transformations": [{"feature": f"{VIEW}:txn_count_7d", "kind": "zscore",
                                     "options": {}, "dtype": "int64",
                                     "columns": [f"{VIEW}__txn_count_7d__zscore"],
                                     "params": {"count": 10, "mean": 5.0, "std": 2.0}}]}
    with Warehouse(made) as warehouse:
        freeze(warehouse, document, None, who="tests")
        before = parameter_sets(warehouse)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = compare(made, VIEW, 1, 2, as_of=now + dt.timedelta(minutes=1), record=False,
                     live_window=dt.timedelta(hours=1), serving_log=folder)
    # served at v1: 4, 9, 9: mean 22/3, population std sqrt(50/9)
    assert report.frozen == [
        {"service": "m", "parameters_version": 1, "feature": f"{VIEW}:txn_count_7d",
         "kind": "zscore", "statistic": "mean", "frozen": 5.0, "live": 22 / 3, "served": 3},
        {"service": "m", "parameters_version": 1, "feature": f"{VIEW}:txn_count_7d",
         "kind": "zscore", "statistic": "std", "frozen": 2.0,
         "live": pytest.approx((50 / 9) ** 0.5, rel=1e-15), "served": 3}]
    text = render(report).splitlines()
    at = text.index("frozen transformation parameters beside the live values:")
    assert text[at + 1:at + 3] == [
        f"  m (parameters 1) {VIEW}:txn_count_7d zscore mean: frozen 5, live 7.33333 (3 "
        "served; the frozen value is served)",
        f"  m (parameters 1) {VIEW}:txn_count_7d zscore std: frozen 2, live 2.35702 (3 "
        "served; the frozen value is served)"]
    assert report.to_dict()["frozen_parameters"] == report.frozen
    with Warehouse(made, read_only=True) as warehouse:
        assert parameter_sets(warehouse) == before
