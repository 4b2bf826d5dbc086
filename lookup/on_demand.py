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
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from featurestore.contracts import Feature, RequestField, suggest
from featurestore.errors import RequestError
from featurestore.lookup.events import is_utf8
from featurestore.lookup.status import DEFAULT, EXPIRED, MISSING, PRESENT, STALE

PREFIX = "request."  # a GET's query parameters that carry request fields
RANK = {PRESENT: 0, STALE: 1, EXPIRED: 2, DEFAULT: 3, MISSING: 4}
_INT = re.compile(r"-?[0-9]{1,19}")
_FLOAT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_ECHO = 80


@dataclass(frozen=True)
class OnDemandPlan:
    """The features asked of one on-demand view, compiled: per feature its response name
    (``refs``), its closure and the stored inputs it reads, as (input name, the hidden
    answer's name, whether it is a timestamp)."""

    view: object  # OnDemandView
    features: tuple[Feature, ...]
    refs: tuple[str, ...]
    evaluators: tuple[Callable, ...]
    reads: tuple[tuple[tuple[str, str, bool], ...], ...]
    # worked out once, for the hot path: every input read, once; and per feature (ref,
    # closure, the hidden answers it reads, whether it yields a timestamp)
    inputs: tuple[tuple[str, str, bool], ...] = ()
    steps: tuple[tuple[str, Callable, tuple[str, ...], bool], ...] = ()

    @property
    def request_fields(self) -> tuple[RequestField, ...]:
        used = set().union(*(f.expression.inputs for f in self.view.features
                             if f.name in {g.name for g in self.features}))
        return tuple(r for r in self.view.request if r.name in used)


def plan_on_demand(resolution, plan_view) -> tuple[tuple[OnDemandPlan, ...], tuple]:
    """``(on-demand plans, the stored plans of their inputs)`` of a ``Resolution``;
    ``plan_view``: lookup/plans.py's, named here ``view@vN:feature``."""
    inputs = tuple(plan_view(view, features, f"{view.name}@v{view.version}")
                   for view, features in resolution.input_reads())
    plans = []
    for found in resolution.on_demand:
        reads = []
        for feature in found.features:
            reads.append(tuple(
                (name, f"{view.name}@v{view.version}:{stored.name}",
                 stored.dtype == "timestamp")
                for name, (view, stored) in found.inputs.items()
                if name in feature.expression.inputs))
        refs = tuple(f"{found.view.name}:{f.name}" for f in found.features)
        steps = tuple((ref, f.expression.evaluate, tuple(source for _, source, _ in read),
                       f.feature.dtype == "timestamp")
                      for ref, f, read in zip(refs, found.features, reads, strict=True))
        plans.append(OnDemandPlan(
            found.view, tuple(f.feature for f in found.features), refs,
            tuple(f.expression.evaluate for f in found.features), tuple(reads),
            tuple(dict.fromkeys(item for read in reads for item in read)), steps))
    return tuple(plans), inputs


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
        return tuple(_typed(fields, item, text, f"request[{i}]")
                     for i, item in enumerate(given))
    row = _typed(fields, given, text, "request")
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


def _typed(fields: dict[str, RequestField], given: object, text: bool, where: str) -> dict:
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise RequestError(f"`{where}` must be an object of request fields, like "
                           f"{{\"{next(iter(fields), 'amount')}\": ...}}")
    for name in given:
        if name not in fields:
            raise RequestError(f"unknown request field `{_cut(str(name))}`"
                               f"{suggest(str(name), fields)}; the on-demand features asked "
                               f"read: {', '.join(fields) or 'none'}")
    row = {}
    for name, field in fields.items():
        value = given.get(name)
        if value is None:
            if not field.nullable:
                raise RequestError(f"request field `{name}` is required: it is declared "
                                   "`nullable: false`")
            row[name] = None
            continue
        row[name] = _value(field, value, text)
    return row


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


def answer(plans: tuple[OnDemandPlan, ...], hidden: dict, values: dict, out: dict,
           counts: dict, json_value) -> None:
    """Fill ``out`` with the on-demand values of one key: ``hidden`` holds the answers of
    the input plans, ``values`` the key's typed request fields."""
    for plan in plans:
        row = dict(values)
        for input_name, source, is_ts in plan.inputs:
            value = hidden[source]["value"]
            row[input_name] = dt.datetime.fromisoformat(value) \
                if is_ts and value is not None else value
        name = plan.view.name
        for ref, evaluate, sources, is_ts in plan.steps:
            value = evaluate(row)
            if is_ts and value is not None:
                value = json_value(value)
            status, oldest = PRESENT, None
            for source in sources:
                stored = hidden[source]
                if RANK[stored["status"]] > RANK[status]:
                    status = stored["status"]
                if "age_seconds" in stored and (oldest is None or stored["age_seconds"]
                                                > oldest["age_seconds"]):
                    oldest = stored
            if oldest is None:
                out[ref] = {"value": value, "feature_ts": None, "status": status}
            else:
                out[ref] = {"value": value, "feature_ts": oldest["feature_ts"],
                            "age_seconds": oldest["age_seconds"], "status": status}
            counts[(name, status)] = counts.get((name, status), 0) + 1
