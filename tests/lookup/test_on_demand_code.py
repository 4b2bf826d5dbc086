"""The generated per-key answer of an on-demand view (lookup/on_demand_code.py) gives
exactly what lookup/on_demand.py's ``answer`` gives walking the plan (the fallback for a
tree too deep to compile): the same values, statuses, times, counts and key order, for
every state of the stored inputs (fresh, stale, expired, absent, unreadable, null
values), aliased inputs, inputs and results that are timestamps, features reading
several views and none."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore.contracts import load_catalog
from featurestore.errors import RequestError, StoreUnavailable
from featurestore.lookup import on_demand, service
from featurestore.lookup.on_demand_code import compile_answer
from featurestore.online.items import encode_item, to_epoch_micros
from featurestore.online.store import Items

NOW = dt.datetime(2026, 5, 22, 18, 0, 0)
VIEWS = {
    "acts": ("ttl: 30d\nfreshness_slo: 1h", [
        ("count_7d", "int64", "0"), ("sum_30d", "float64", None),
        ("last_at", "timestamp", "2026-01-01T00:00:00Z")]),
    "prof": ("ttl: 365d\nfreshness_slo: 1d", [
        ("country", "string", None), ("signed_up_at", "timestamp", None),
        ("score", "float64", "0.5")]),
}
FEATURES = {
    "ratio": "amount / sum_30d",
    "mixed": "score * count_7d + amount",
    "since": "date_diff('hour', last_at, txn_ts)",
    "first_seen": "coalesce(signed_up_at, txn_ts)",
    "hour": "date_part('hour', txn_ts, 'Europe/Paris')",
    "home": "merchant_country = home",
    "band": "case when amount > 100 then 'high' else 'low' end",
    "late": "coalesce(last_at, signed_up_at)",
}
REQUEST = ("request:\n  - {name: amount, dtype: float64}\n  - {name: txn_ts, dtype: timestamp}\n"
           "  - {name: merchant_country, dtype: string}\n")
INPUTS = ("inputs: [acts:count_7d, acts:sum_30d, acts:last_at, {ref: prof:country, as: home},"
          " prof:signed_up_at, prof:score]\n")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ondemand_code")
    (folder / "entities.yml").write_text(
        "entities:\n  - name: user\n    join_keys:\n      - {name: user_id, dtype: int64}\n"
        "    description: A customer.\n")
    for name, (bounds, features) in VIEWS.items():
        lines = [f"name: {name}", "version: 1", "entity: user", f"source: fs_{name}",
                 "timestamp: feature_ts", bounds, "owner: t", "description: V.", "features:"]
        for feature, dtype, default in features:
            lines.append(f"  - {{name: {feature}, dtype: {dtype}, sensitivity: internal, "
                         f"description: f.{'' if default is None else f', default: {default}'}}}")
        (folder / f"{name}.yml").write_text("\n".join(lines) + "\n")
    features = "".join(f"  - {{name: {n}, sql: \"{sql}\", sensitivity: internal, "
                       "description: d.}\n" for n, sql in FEATURES.items())
    (folder / "ctx.yml").write_text(
        "name: ctx\nkind: on_demand\nversion: 1\nentity: user\nowner: t\n"
        f"description: C.\n{REQUEST}{INPUTS}features:\n{features}")
    return load_catalog(folder)


class Store:
    def __init__(self, items, down=False):
        self.items, self.down = items, down

    def get(self, keys, attributes, consistent=None):
        if self.down:
            raise StoreUnavailable("down")
        return Items({k: self.items[k] for k in keys if k in self.items})


# an item's age (None: no item) and whether its values are null
AGES = st.sampled_from([None, dt.timedelta(minutes=5), dt.timedelta(hours=3),
                        dt.timedelta(days=2), dt.timedelta(days=40), dt.timedelta(days=400),
                        -dt.timedelta(minutes=1)])
STATE = st.tuples(AGES, AGES, st.booleans(), st.booleans())
FIELDS = st.fixed_dictionaries({}, optional={
    "amount": st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-5, 500)),
    "txn_ts": st.sampled_from(["2026-05-22T17:30:00Z", "2026-03-29T01:30:00+00:00",
                               "2025-12-31T23:59:59.5", "2026-05-22"]),
    "merchant_country": st.sampled_from(["FR", "DE", "", "é"])})


def _items(catalog, states) -> dict:
    items = {}
    for user_id, (acts_age, prof_age, acts_null, prof_null) in enumerate(states):
        for name, age, null in (("acts", acts_age, acts_null), ("prof", prof_age, prof_null)):
            if age is None:
                continue
            row = {"user_id": user_id, "feature_ts": NOW - age}
            if not null and name == "acts":
                row.update(count_7d=user_id * 3, sum_30d=0.0 if user_id % 4 == 1 else
                           12.5 * user_id, last_at=NOW - dt.timedelta(hours=user_id))
            elif not null:
                row.update(country=["FR", "DE"][user_id % 2], score=user_id / 7,
                           signed_up_at=NOW - dt.timedelta(days=30 * user_id + 1))
            item = encode_item(catalog.views[name], row, to_epoch_micros(NOW))
            items[(item["pk"]["S"], item["sk"]["S"])] = item
    return items


def _answer(catalog, store, refs, fields, keys) -> str:
    on_demand._PLANNED.clear()
    try:
        requests = service.post_requests(catalog, json.dumps(
            {"entity": "user", "keys": [{"user_id": i} for i in range(keys)],
             "features": refs, "request": fields}))
    except RequestError as refused:  # a field the features asked do not read
        return str(refused)
    outcome = service.lookup(requests, store, now=NOW.replace(tzinfo=dt.UTC))
    return json.dumps([service.response_body(requests, outcome, False),
                       sorted(outcome.status_counts.items()), outcome.newest_us])


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(states=st.lists(STATE, min_size=1, max_size=6), per_key=st.booleans(),
       fields=st.lists(FIELDS, min_size=6, max_size=6), down=st.booleans(),
       asked=st.lists(st.sampled_from(sorted(FEATURES)), min_size=1, max_size=8, unique=True))
def test_the_generated_answer_is_the_plans_answer(catalog, monkeypatch, states, per_key,
                                                  fields, down, asked):
    store = Store(_items(catalog, states), down=down)
    refs = [f"ctx:{name}" for name in asked] + ["acts:count_7d"]
    read = set().union(*(f.expression.inputs for f in catalog.on_demand["ctx"].features
                         if f.name in asked))
    fields = [{k: v for k, v in given.items() if k in read} for given in fields]
    given_fields = fields[:len(states)] if per_key else fields[0]
    generated = _answer(catalog, store, refs, given_fields, len(states))
    with monkeypatch.context() as patched:
        patched.setattr(on_demand, "compile_answer", lambda *args: None)
        walked = _answer(catalog, store, refs, given_fields, len(states))
    assert generated == walked


def test_every_plan_of_the_view_is_generated(catalog):
    on_demand._PLANNED.clear()
    request = service.entity_request(catalog, "user", [{"user_id": 1}], "ctx",
                                     request={"amount": 1.0})
    (plan,) = request.on_demand
    assert plan.code is not None
    assert [name for name, *_ in plan.steps] == [f"ctx:{n}" for n in FEATURES]
    assert compile_answer("ctx", (), (), (), (), (), on_demand._meta) is not None
