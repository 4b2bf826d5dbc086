"""The on-demand features of a training row and of the lookup agree, end to end.

The demo warehouse (tests/conftest.py's ``demo_env``) is synced into a fresh DynamoDB
Local table as of the demo's end, as the sync publishes it; the lookup runs behind the
real HTTP server on that clock, from the registry snapshot (as a Lambda reads it). For
the same users, the same request fields and the same time, the training set's value
(DuckDB, in SQL) and the lookup's (Python) must be equal, exactly: first for every demo
user, then for request values hypothesis draws (nulls, zeros, extremes, unicode, times
in many zones).
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_END, DEMO_USERS
from tests.lookup.conftest import serve  # noqa: F401  (the fixture)
from tests.lookup.lookup_testkit import call, make_app

pytestmark = pytest.mark.slow

T = dt.datetime.fromisoformat(DEMO_END)
FEATURES = ["txn_context:amount_over_avg_30d", "txn_context:amount_minus_avg_7d",
            "txn_context:local_hour", "txn_context:is_foreign"]
COUNTRIES = ["US", "CA", "BR", "GB", "DE", "FR", "ES", "NL", "IN", "NG", "XX"]
ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
         "Pacific/Chatham", "America/St_Johns", "Europe/Paris", "Pacific/Kiritimati"]


@pytest.fixture
def served(demo_env, dynamodb_table, serve):  # noqa: F811
    """The lookup's URL, its stored inputs synced from the demo warehouse as of ``T``."""
    from featurestore.lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
    from featurestore.sync.worker import SyncOptions, sync_view
    from featurestore.warehouse import Warehouse
    from tests.online_stores import store_for

    client, table = dynamodb_table
    project = demo_env.project
    catalog = project.catalog()
    store = store_for(client, table)
    with Warehouse(project) as warehouse:
        for name in ("user_transactions", "user_profile"):
            sync_view(warehouse, store, catalog.views[name],
                      SyncOptions(full_refresh=True, as_of=T))
    snapshot = catalog_from_snapshot(build_snapshot(catalog))
    return project, serve(make_app(snapshot, client, table, clock=lambda: T))


def _training(project, rows: list[dict]) -> list[dict]:
    """Each row's on-demand values from a training set built on DuckDB."""
    import pandas as pd

    from featurestore.training import build_training_set

    spine = pd.DataFrame({
        "row_id": range(len(rows)),
        "user_id": [r["user_id"] for r in rows],
        "event_ts": [T] * len(rows),
        "amount": [r["amount"] for r in rows],
        "txn_ts": pd.Series([r["txn_ts"].astimezone(dt.UTC) for r in rows],
                            dtype="datetime64[us, UTC]"),
        "merchant_country": pd.Series([r["merchant_country"] for r in rows], dtype=object),
    })
    table = build_training_set(project, spine, ",".join(FEATURES)).table
    columns = [f.replace(":", "__") for f in FEATURES]
    found = sorted(table.select(["row_id", *columns]).to_pylist(), key=lambda r: r["row_id"])
    return [{f: row[c] for f, c in zip(FEATURES, columns, strict=True)} for row in found]


def _lookup(url: str, rows: list[dict]) -> list[dict]:
    """Each row's on-demand values from one POST, one request object per key."""
    body = {"entity": "user", "keys": [{"user_id": r["user_id"]} for r in rows],
            "features": FEATURES,
            "request": [{"amount": r["amount"], "txn_ts": r["txn_ts"].isoformat(),
                         "merchant_country": r["merchant_country"]} for r in rows]}
    answer = call(url, "/v1/features/retrieve", method="POST", body=json.dumps(body))
    assert answer.status == 200, answer.body
    assert answer.body["degraded"] is False
    return [{f: row["features"][f]["value"] for f in FEATURES}
            for row in answer.body["results"]]


def _same(training: list[dict], served: list[dict]) -> None:
    for row, (offline, online) in enumerate(zip(training, served, strict=True)):
        for feature in FEATURES:
            a, b = offline[feature], online[feature]
            # exact: the same float, not a close one (0.0 == -0.0, as SQL compares them)
            assert a == b and type(a) is type(b), (row, feature, a, b)


def test_every_demo_user_gets_the_training_value_online(served):
    project, url = served
    rows = [{"user_id": user, "amount": round(user * 1.37 - 40.0, 2),
             "txn_ts": (T - dt.timedelta(minutes=7 * user)).replace(tzinfo=dt.UTC).astimezone(
                 zoneinfo.ZoneInfo(ZONES[user % len(ZONES)])),
             "merchant_country": None if user % 13 == 0 else COUNTRIES[user % len(COUNTRIES)]}
            for user in range(1, DEMO_USERS + 1)]
    training = _training(project, rows)
    assert sum(r["txn_context:amount_over_avg_30d"] is not None for r in training) > 50
    assert {r["txn_context:is_foreign"] for r in training} == {True, False, None}
    online = []
    for start in range(0, len(rows), 100):
        online += _lookup(url, rows[start:start + 100])
    _same(training, online)


_FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1.7976931348623157e308,
                     -1.7976931348623157e308, 2.0**53 + 1, 1e-300]),
    st.integers(-(2**63), 2**63 - 1).map(float))
_TEXT = st.one_of(st.none(), st.sampled_from(COUNTRIES),
                  st.text(st.characters(blacklist_categories=("Cs",),
                                        blacklist_characters="\x00"), max_size=6))
_TIMES = st.builds(
    lambda moment, zone: moment.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone)),
    st.datetimes(dt.datetime(1970, 1, 2), dt.datetime(2100, 1, 1)), st.sampled_from(ZONES))
_ROWS = st.lists(st.fixed_dictionaries({
    "user_id": st.integers(1, DEMO_USERS + 5), "amount": _FLOATS, "txn_ts": _TIMES,
    "merchant_country": _TEXT}), min_size=1, max_size=12)


def test_drawn_request_values_give_the_training_value_through_the_http_handler(served):
    project, url = served

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(_ROWS)
    def check(rows):
        _same(_training(project, rows), _lookup(url, rows))

    check()
