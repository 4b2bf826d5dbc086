"""The lookup itself: requests in, feature vectors with timestamps and statuses out.

``lookup()`` is pure apart from the online store it is handed (an ``OnlineStore``,
``online/store.py``: in production the ``DynamoDBStore`` the handler opened for the
lookup's deadline) and the cache, so tests and the benchmark call it directly, and the
Lambda handler is only a parser around it. The requests it answers are parsed in
``lookup/plans.py`` (re-exported here).

The status rule is the offline ``as_of_join`` rule, so that a model sees online exactly
what it saw in training. For a feature of view V at time ``now``:

1. no item for (entity, V): the contract's default with ``DEFAULT``, or null with
   ``MISSING`` when the contract has none (``feature_ts`` null, no ``age_seconds``);
2. an item with ``now - feature_ts > ttl``: ``EXPIRED`` and the default (what training
   saw); ``feature_ts`` and ``age_seconds`` still say how old the stored value is. The
   bound is inclusive: an age of exactly the ttl is not expired, as offline;
3. ``now - feature_ts > freshness_slo``: ``STALE`` with the stored value;
4. else ``PRESENT`` with the stored value; a stored null stays null.

Comparisons use exact microseconds. ``age_seconds`` is the age floored to whole seconds
(59.9 s is 59); it is negative when an item's feature_ts is ahead of this clock.
On-demand features (lookup/on_demand.py) are computed per key after the stored ones,
from the request's fields and their stored inputs, answered by this same rule. When the
store is unreachable or misses its deadline, every value not already in the
cache gets its default with ``DEFAULT`` and the response says ``"degraded": true``. A
table in two regions (``online/failover.py``) reads the replica when the primary does
not answer, and the answer names the region that gave the items (``"region"``; null
when none was read: every item from the cache, or neither region answered).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from featurestore.contracts import Feature
from featurestore.errors import StoreUnavailable
from featurestore.lookup import on_demand
from featurestore.lookup.plans import (  # noqa: F401  (the request API, re-exported)
    MAX_KEYS,
    MAX_PK_BYTES,
    EntityRequest,
    ViewPlan,
    entity_request,
    get_request,
    iso_micros,
    json_value,
    plan_view,
    post_requests,
    resolve_features,
    shadow_plans,
    too_many_keys,
    typed_key,
)
from featurestore.lookup.status import DEFAULT, EXPIRED, RANK, absent_status, stored_status
from featurestore.online.items import decode_value, to_epoch_micros
from featurestore.online.store import OnlineStore


@dataclass
class LookupOutcome:
    """What a lookup found, and what the handler counts and logs about it."""

    results: list[list[dict]]  # per request, per key: {"key", "features"}
    degraded: bool
    status_counts: dict[tuple[str, str], int]  # (view, status) -> count
    error: str | None = None
    # view -> the newest feature_ts (epoch µs) among the items answered: how far behind
    # the loop is, as /metrics shows it (a stopped loop shows a lag that keeps growing)
    newest_us: dict[str, int] = field(default_factory=dict)
    # per request, per key: {"view@vN:feature": answer} of the shadow versions read (None:
    # no shadow); they go to the serving log, never to the caller
    shadow_results: list[list[dict]] | None = None
    # view -> the version served, for views with several versions asked without a pin
    versions: dict[str, int] = field(default_factory=dict)
    # the region whose items were read (a store over two regions says; None: one region,
    # or nothing read)
    region: str | None = None


def lookup(requests: list[EntityRequest], store: OnlineStore, *, now: dt.datetime | None = None,
           cache=None) -> LookupOutcome:
    """Read every (key, view) of ``requests`` once and answer per the status rule."""
    now_us = to_epoch_micros(now) if now is not None else time.time_ns() // 1000
    # every item once, with every feature any plan asks of it (an unpinned and a pinned
    # reference to one version, a shadow of a version also asked for)
    needed: dict[tuple[str, str], dict[str, Feature]] = {}
    for request in requests:
        plans = request.views + request.shadows + _uncovered(request)
        for pk in request.pks:
            for plan in plans:
                slot = needed.setdefault((pk, plan.sk), {})
                for feature in plan.features:
                    slot.setdefault(feature.name, feature)
    entries: dict[tuple[str, str], object] = {}
    to_fetch: dict[tuple[str, str], tuple[Feature, ...]] = {}
    for item_key, wanted in needed.items():
        features = tuple(wanted.values())
        hit = cache.get(item_key, features) if cache is not None else None
        if hit is not None:
            entries[item_key] = hit
        else:
            to_fetch[item_key] = features
    degraded, error, region = False, None, None
    if to_fetch:
        attributes = sorted({f.name for features in to_fetch.values() for f in features})
        try:
            items = store.get(list(to_fetch), attributes)
        except StoreUnavailable as exc:
            degraded, error = True, str(exc)
        else:
            region = getattr(items, "region", None)
            for item_key, features in to_fetch.items():
                entry = _decode(features, items.get(item_key))
                entries[item_key] = entry
                if cache is not None:
                    cache.put(item_key, features, entry)
    counts: dict[tuple[str, str], int] = {}
    newest: dict[str, int] = {}
    results = []
    shadow_results = []
    versions: dict[str, int] = {}
    for request in requests:
        rows, shadow_rows = [], []
        for plan in request.views:
            if plan.view.multi_version and not plan.pinned:
                versions[plan.view.name] = plan.view.version
        answers = on_demand.answers(request.on_demand)
        for index, (key, pk) in enumerate(zip(request.keys, request.pks, strict=True)):
            features: dict[str, dict] = {}
            for plan in request.views:
                _answer(plan, entries.get((pk, plan.sk), _UNREAD), now_us, features, counts,
                        newest)
            if answers:
                read = [read_input(plan, entries.get((pk, plan.sk), _UNREAD), now_us, newest)
                        for plan in request.inputs]
                values = request.request_rows[index]
                for answer in answers:
                    answer(values, read, features, counts, json_value)
            rows.append({"key": key, "features": features})
            if request.shadows:
                shadowed: dict[str, dict] = {}
                for plan in request.shadows:
                    _answer(plan, entries.get((pk, plan.sk), _UNREAD), now_us, shadowed, {},
                            {})
                shadow_rows.append(shadowed)
        results.append(rows)
        shadow_results.append(shadow_rows)
    return LookupOutcome(results, degraded, counts, error, newest,
                         shadow_results if any(shadow_results) else None, versions, region)


def _uncovered(request: EntityRequest) -> tuple[ViewPlan, ...]:
    """The on-demand inputs' plans that read a feature the request's view plans of the
    same item do not (an input of the view asked, the usual case, adds nothing)."""
    if not request.inputs:
        return ()
    read: dict[str, set[str]] = {}
    for plan in request.views + request.shadows:
        read.setdefault(plan.sk, set()).update(f.name for f in plan.features)
    return tuple(plan for plan in request.inputs
                 if not {f.name for f in plan.features} <= read.get(plan.sk, set()))


_ABSENT = ("absent",)  # the item does not exist (a cacheable answer)
_UNREAD = ("unread",)  # the store did not answer: degrade


def _decode(features: tuple[Feature, ...], item: dict | None):
    """``(feature_ts_us, {feature: value})`` of an item, or ``_ABSENT``."""
    if item is None:
        return _ABSENT
    values = {f.name: json_value(decode_value(f.dtype, item.get(f.name)))
              for f in features}
    return int(item["feature_ts"]["N"]), values


def _answer(plan: ViewPlan, entry, now_us: int, out: dict, counts: dict,
            newest: dict) -> None:
    """Fill ``out`` with this view's features, count their statuses, keep the newest ts."""
    name = plan.view.name
    if entry is _UNREAD or entry is _ABSENT:
        for ref, feature, default in zip(plan.refs, plan.features, plan.defaults,
                                         strict=True):
            status = absent_status(entry is not _UNREAD, feature.default is not None)
            out[ref] = {"value": default, "feature_ts": None, "status": status}
            counts[(name, status)] = counts.get((name, status), 0) + 1
        return
    ts_us, values = entry
    if ts_us > newest.get(name, -1 << 63):
        newest[name] = ts_us
    age_us = now_us - ts_us
    feature_ts = iso_micros(ts_us)
    age_seconds = age_us // 1_000_000
    status = stored_status(age_us, plan.ttl_us, plan.slo_us)
    if status == EXPIRED:
        for ref, default in zip(plan.refs, plan.defaults, strict=True):
            out[ref] = {"value": default, "feature_ts": feature_ts,
                        "age_seconds": age_seconds, "status": EXPIRED}
    else:
        for ref, feature in zip(plan.refs, plan.features, strict=True):
            out[ref] = {"value": values[feature.name], "feature_ts": feature_ts,
                        "age_seconds": age_seconds, "status": status}
    counts[(name, status)] = counts.get((name, status), 0) + len(plan.features)


def read_input(plan: ViewPlan, entry, now_us: int, newest: dict) -> tuple:
    """An on-demand feature's stored inputs of one view, by ``_answer``'s rule, in the
    form lookup/on_demand.py reads: ``(values, status rank, feature_ts, age_seconds)``;
    ``values`` is None when the defaults are served (expired, absent or unread) and the
    status rank None for an absent item (DEFAULT or MISSING per feature: the plan knows
    which); feature_ts and age_seconds are None when no item was read."""
    if entry is _UNREAD:
        return None, RANK[DEFAULT], None, None
    if entry is _ABSENT:
        return None, None, None, None
    ts_us, values = entry
    name = plan.view.name
    if ts_us > newest.get(name, -1 << 63):
        newest[name] = ts_us
    age_us = now_us - ts_us
    status = stored_status(age_us, plan.ttl_us, plan.slo_us)
    return (None if status == EXPIRED else values, RANK[status], iso_micros(ts_us),
            age_us // 1_000_000)


def response_body(requests: list[EntityRequest], outcome: LookupOutcome,
                  single: bool, *, regions: bool = False) -> dict:
    """The JSON body: the README's shape for a GET (``single``), a flat list for a POST.

    ``regions``: the table has two regions, and the body names the one that answered
    (``"region"``, null when no item was read from either).

    ``versions`` names the version served of each view with several versions that was
    asked for without a pin (only then: the answer of a view with one version is as it
    always was).

    A POST answers ``{"results": [{"entity", "key", "features"}, ...], "degraded"}`` with
    one result per key, in request order (requests, then keys), each naming its entity.
    """
    extra = {"versions": outcome.versions} if outcome.versions else {}
    if regions:
        extra["region"] = outcome.region
    if single:
        return {"entity": requests[0].entity.name, "results": outcome.results[0],
                "degraded": outcome.degraded, **extra}
    flat = []
    for request, rows in zip(requests, outcome.results, strict=True):
        name = request.entity.name
        flat.extend({"entity": name, "key": row["key"], "features": row["features"]}
                    for row in rows)
    return {"results": flat, "degraded": outcome.degraded, **extra}
