"""On-demand features in the lookup: the request fields typed and checked, and each
expression evaluated per key over them and the stored inputs read with the request.

The stored inputs are read as any stored feature is (one BatchGetItem for the whole
request, an item read once however many plans need it) and answered by the same status
rule, so an input has the value a training set gives it: the stored value, or the
contract's default when it is expired or absent. They are answered apart (``inputs``
plans, named ``view@vN:feature``) and never appear in the response unless asked for.

Request fields come as ``request.<field>`` query parameters (GET, text) or a ``request``
object in the POST body (JSON values), one object for every key of an entity request or
a list of one object per key. Each is checked against its declared dtype and
nullability; a refusal is a 400 naming the field. docs/request-time.md has the rules.

An on-demand value's status is the worst status of the stored inputs its expression
reads (PRESENT < STALE < EXPIRED < DEFAULT < MISSING; PRESENT when it reads none), and
its ``feature_ts`` and ``age_seconds`` are those of the oldest of them: the value is as
fresh as what it was computed from.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from featurestore.contracts import Feature, RequestField, suggest
from featurestore.errors import RequestError
from featurestore.lookup.events import is_utf8
from featurestore.lookup.on_demand_code import compile_answer
from featurestore.lookup.status import DEFAULT, MISSING, PRESENT, RANK, STATUSES
from featurestore.ondemand import evaluate_all

PREFIX = "request."  # a GET's query parameters that carry request fields
_INT = re.compile(r"-?[0-9]{1,19}")
_FLOAT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_ECHO = 80
from_iso = dt.datetime.fromisoformat


@dataclass(frozen=True)
class OnDemandPlan:
    """The features asked of one on-demand view, compiled: per feature its response name
    (``refs``), its function and the stored inputs it reads, worked out once for the hot
    path. The inputs' plans (``view@vN``) are the request's ``inputs``, read per key by
    lookup/service.py's ``read_input``; here they are named by their index there."""

    view: object  # OnDemandView
    features: tuple[Feature, ...]
    refs: tuple[str, ...]
    # the stored inputs read, per input plan: (its index, the input names, a function
    # giving their stored values from the item's, their defaults (timestamps parsed),
    # the names of those that are timestamps)
    loads: tuple[tuple[int, tuple[str, ...], Callable, dict, tuple[str, ...]], ...] = ()
    # the distinct sets of input plans the features read, each as ((plan index, the
    # status of its absent item: DEFAULT, or MISSING when a feature read has no
    # default), ...) in the order the feature reads them; and how many features read it
    groups: tuple[tuple[tuple[int, int], ...], ...] = ()
    group_uses: tuple[int, ...] = ()
    # one function computing every feature's value over a key's row, in order
    # (featurestore.ondemand.evaluate_all); per feature: (ref, its group's index, whether
    # it yields a timestamp)
    evaluate: Callable = tuple
    steps: tuple[tuple[str, int, bool], ...] = ()
    # all of the above as one generated function of a key (lookup/on_demand_code.py), or
    # None when a tree is too deep to compile (``answer`` then walks the plan)
    code: Callable | None = None

    @property
    def request_fields(self) -> tuple[RequestField, ...]:
        asked = {g.name for g in self.features}
        used = set().union(*(f.expression.inputs for f in self.view.features
                             if f.name in asked))
        return tuple(r for r in self.view.request if r.name in used)


def plan_on_demand(resolution, plan_view) -> tuple[tuple[OnDemandPlan, ...], tuple]:
    """``(on-demand plans, the stored plans of their inputs)`` of a ``Resolution``;
    ``plan_view``: lookup/plans.py's, named here ``view@vN:feature``."""
    reads = resolution.input_reads()
    inputs = tuple(plan_view(view, features, f"{view.name}@v{view.version}")
                   for view, features in reads)
    where = {(plan.view.name, plan.view.version, feature.name): (index, default)
             for index, plan in enumerate(inputs)
             for feature, default in zip(plan.features, plan.defaults, strict=True)}
    return tuple(_plan(found, where) for found in resolution.on_demand), inputs


_PLANNED: dict = {}  # the plans of one catalog and one pointer snapshot, by request
MAX_PLANNED = 256


def planned(catalog, snapshot, entity: str, refs: object, plan: Callable[[], tuple]):
    """``plan()`` (a request's view, on-demand and input plans), worked out once per
    catalog, pointer snapshot (refreshed every second or so) and list of features asked,
    rather than once per request: the same features are asked again and again. A
    refused request raises from ``plan()`` each time; nothing is kept of it."""
    if isinstance(refs, list) and all(isinstance(r, str) for r in refs):
        key = (entity, *refs)
    elif isinstance(refs, str):
        key = (entity, refs)
    else:
        return plan()
    found = _PLANNED.get(key)
    if found is not None and found[0] is catalog and found[1] is snapshot:
        return found[2]
    plans = plan()
    if len(_PLANNED) >= MAX_PLANNED:
        _PLANNED.clear()
    _PLANNED[key] = (catalog, snapshot, plans)
    return plans


def _plan(found, where: dict) -> OnDemandPlan:
    loads, groups, steps = {}, {}, []
    for feature in found.features:
        read: dict[int, int] = {}  # plan index -> the absent item's status rank
        for name, (view, stored) in found.inputs.items():
            if name not in feature.expression.inputs:
                continue
            index, default = where[(view.name, view.version, stored.name)]
            loads[name] = (name, index, stored.name, default, stored.dtype == "timestamp")
            absent = RANK[DEFAULT if stored.default is not None else MISSING]
            read[index] = max(read.get(index, absent), absent)
        group = groups.setdefault(tuple(read.items()), len(groups))
        steps.append((f"{found.view.name}:{feature.feature.name}", group,
                      feature.feature.dtype == "timestamp"))
    uses = [0] * len(groups)
    for _, group, _ in steps:
        uses[group] += 1
    expressions = tuple(f.expression for f in found.features)
    inputs = tuple((name, index, feature, from_iso(default) if is_ts and default is not None
                    else default, is_ts) for name, index, feature, default, is_ts
                   in loads.values())
    code = compile_answer(found.view.name, expressions, inputs, tuple(steps), tuple(groups),
                          tuple(uses), _meta)
    return OnDemandPlan(found.view, tuple(f.feature for f in found.features),
                        tuple(ref for ref, _, _ in steps), _loads(loads.values()),
                        tuple(groups), tuple(uses), evaluate_all(expressions), tuple(steps),
                        code)


def _loads(loads) -> tuple:
    by_plan: dict[int, list] = {}
    for load in loads:
        by_plan.setdefault(load[1], []).append(load)
    out = []
    for index, items in by_plan.items():
        names = tuple(name for name, _, _, _, _ in items)
        features = tuple(feature for _, _, feature, _, _ in items)
        pick = (operator.itemgetter(*features) if len(features) > 1
                else lambda got, feature=features[0]: (got[feature],))
        defaults = {name: from_iso(default) if is_ts and default is not None else default
                    for name, _, _, default, is_ts in items}
        out.append((index, names, pick, defaults,
                    tuple(name for name, _, _, _, is_ts in items if is_ts)))
    return tuple(out)


def request_rows(plans: tuple[OnDemandPlan, ...], given: object, keys: int, *,
                 text: bool) -> tuple[dict, ...]:
    """The typed request fields of each key: ``given`` is one mapping for all keys, or
    (POST) a list of one mapping per key; ``text``: values are query text (GET)."""
    if not plans:
        if given not in (None, {}, []):
            names = given if isinstance(given, dict) else {}
            shown = ", ".join(f"`{_cut(str(n))}`" for n in list(names)[:3]) or "`request`"
            raise RequestError(f"request fields ({shown}) are read by on-demand features "
                               "only, and this request asks for none")
        return ()
    fields = _fields(plans)
    if isinstance(given, list):
        if len(given) != keys:
            raise RequestError(f"`request` lists {len(given)} object(s) for {keys} key(s): "
                               "give one object per key, in the keys' order, or one object "
                               "for all of them")
        checks = _checks(fields)
        return tuple(_typed(fields, item, text, i, checks) for i, item in enumerate(given))
    row = _typed(fields, given, text, None, _checks(fields))
    return (row,) * keys


def _fields(plans: tuple[OnDemandPlan, ...]) -> dict[str, RequestField]:
    """Every request field the asked features read (a name must mean one dtype)."""
    fields: dict[str, tuple[RequestField, str]] = {}
    for plan in plans:
        for field in plan.request_fields:
            seen = fields.setdefault(field.name, (field, plan.view.name))
            if seen[0].dtype != field.dtype:
                raise RequestError(
                    f"request field `{field.name}` is {seen[0].dtype} in on-demand view "
                    f"`{seen[1]}` and {field.dtype} in `{plan.view.name}`; ask for them in "
                    "separate requests")
            if not field.nullable:
                fields[field.name] = (field, plan.view.name)
    return {name: field for name, (field, _) in fields.items()}


def _checks(fields: dict[str, RequestField]) -> tuple:
    """Per field, what ``_typed`` asks of it for each key, worked out once a request:
    ``(name, field, dtype, the type of a JSON value taken as it is, or None)``."""
    return tuple((name, field, field.dtype, _FAST.get(field.dtype))
                 for name, field in fields.items())


def _typed(fields: dict[str, RequestField], given: object, text: bool, index: int | None,
           checks: tuple) -> dict:
    """One key's typed request fields (``index``: its place in a list of request objects,
    None for one object for every key)."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        where = "request" if index is None else f"request[{index}]"
        raise RequestError(f"`{where}` must be an object of request fields, like "
                           f"{{\"{next(iter(fields), 'amount')}\": ...}}")
    for name in given if not given.keys() <= fields.keys() else ():
        if name not in fields:
            raise RequestError(f"unknown request field `{_cut(str(name))}`"
                               f"{suggest(str(name), fields)}; the on-demand features asked "
                               f"read: {', '.join(fields) or 'none'}")
    row = {}
    for name, field, dtype, fast in checks:
        value = given.get(name)
        if value is None:
            if not field.nullable:
                raise RequestError(f"request field `{name}` is required: it is declared "
                                   "`nullable: false`")
            row[name] = None
        elif type(value) is fast and not text and (
                value == value and value not in _INFINITE if dtype == "float64"
                else -(2**63) <= value < 2**63):
            row[name] = value  # a JSON float or int as it must be: what _value gives back
        elif type(value) is str and dtype == "string" and value.isascii():
            row[name] = value  # text with no lone surrogate, GET or POST
        elif type(value) is str and dtype == "timestamp":
            try:  # GET or POST: _value's parse, of each distinct text once
                row[name] = _moment(value)
            except ValueError:
                row[name] = _value(field, value, text)  # raises, naming the field
        else:
            row[name] = _value(field, value, text)
    return row


@lru_cache(maxsize=1024)  # the keys of a batch often share one timestamp's text
def _moment(text: str) -> dt.datetime:
    """A request timestamp's text as an aware datetime (naive is UTC), as ``_value``
    reads it; ValueError when it is no ISO-8601 (not kept: only parsed texts are)."""
    moment = dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


_FAST = {"float64": float, "int64": int}  # JSON values taken without _value's checks
_INFINITE = (math.inf, -math.inf)


def _value(field: RequestField, value: object, text: bool):
    """``value`` as the field's dtype, or a RequestError naming the field."""
    dtype, name, given = field.dtype, field.name, value

    def wrong() -> RequestError:  # built only when raised: this runs per field per key
        return RequestError(f"request field `{name}` must be {_WANTED[dtype]}, got "
                            f"{_echo(given)}")

    if dtype == "string":
        if not isinstance(value, str):
            raise wrong()
        if not is_utf8(value):
            raise RequestError(f"request field `{name}` is not valid Unicode text (it holds a "
                               "lone surrogate)")
        return value
    if text and not isinstance(value, str):
        raise wrong()
    if dtype == "int64":
        if text:
            if not _INT.fullmatch(value):
                raise wrong()
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) \
                or not -(2**63) <= value < 2**63:
            raise wrong()
        return value
    if dtype == "float64":
        if text:
            if not _FLOAT.fullmatch(value):
                raise wrong()
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong()
        try:
            value = float(value)
        except OverflowError:
            raise wrong() from None
        if not math.isfinite(value):
            raise wrong()
        return value
    if dtype == "bool":
        if text:
            if value not in ("true", "false"):
                raise wrong()
            return value == "true"
        if not isinstance(value, bool):
            raise wrong()
        return value
    if isinstance(value, dt.datetime) and not text:  # the SDK's own values
        moment = value
    elif not isinstance(value, str):  # timestamp
        raise wrong()
    else:
        moment = None
    try:
        moment = moment or dt.datetime.fromisoformat(value)
    except ValueError:
        raise wrong() from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


_WANTED = {"int64": "an int64 (a whole number)", "float64": "a float64 (a finite number)",
           "string": "text", "bool": "true or false",
           "timestamp": "an ISO-8601 timestamp (naive is UTC), like 2026-05-01T12:00:00Z"}


def _cut(text: str) -> str:
    text = text if text.isprintable() else repr(text)[1:-1]
    return text if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}..."


def _echo(value: object) -> str:
    return f"`{_cut(value)}`" if isinstance(value, str) else _cut(repr(value))


def answers(plans: tuple[OnDemandPlan, ...]) -> tuple[Callable, ...]:
    """Per plan, the function filling a key's answer: ``f(values, read, out, counts,
    json_value)`` fills ``out`` with the plan's on-demand values of one key, ``read``
    holding the key's input plans as lookup/service.py's ``read_input`` gives them
    (values, status rank or None for an absent item, feature_ts, age_seconds) and
    ``values`` the key's typed request fields. The plan's generated code, or ``walk``."""
    return tuple(plan.code or functools.partial(walk, plan) for plan in plans)


def walk(plan: OnDemandPlan, values: dict, read: list, out: dict, counts: dict,
         json_value) -> None:
    """``answers``' function, walking the plan: for a tree too deep to compile."""
    row = dict(values)
    for index, names, pick, defaults, stamps in plan.loads:
        got = read[index][0]
        if got is None:
            row.update(defaults)
            continue
        row.update(zip(names, pick(got), strict=True))
        for name in stamps:
            if row[name] is not None:
                row[name] = from_iso(row[name])
    metas = [_meta(group, read) if group else _NONE_READ for group in plan.groups]
    for (ref, group, is_ts), value in zip(plan.steps, plan.evaluate(row), strict=True):
        if is_ts and value is not None:
            value = json_value(value)
        status, feature_ts, age = metas[group]
        if feature_ts is None:
            out[ref] = {"value": value, "feature_ts": None, "status": status}
        else:
            out[ref] = {"value": value, "feature_ts": feature_ts, "age_seconds": age,
                        "status": status}
    name = plan.view.name
    for (status, _, _), uses in zip(metas, plan.group_uses, strict=True):
        counts[(name, status)] = counts.get((name, status), 0) + uses


_NONE_READ = (PRESENT, None, None)


def _meta(group: tuple[tuple[int, int], ...], read: list) -> tuple[str, str | None, int]:
    """(the worst status of the inputs read, the feature_ts and age_seconds of the oldest
    of them): PRESENT, and no time, when the feature reads none."""
    rank, feature_ts, oldest = 0, None, None
    for index, absent in group:
        _, status, ts, age = read[index]
        if status is None:
            status = absent
        if status > rank:
            rank = status
        if age is not None and (oldest is None or age > oldest):
            feature_ts, oldest = ts, age
    return STATUSES[rank], feature_ts, oldest
