"""How a feature view's latest row is laid out as a DynamoDB item, and read back.

One item per (entity key, feature view version)::

    pk          S  "<entity>#<key>"        e.g. "user#42", "user_device#42|d-0001234"
    sk          S  "<view>#v<version>"     e.g. "user_transactions#v1"
    feature_ts  N  epoch microseconds of the row's feature_ts (the conditional-write order)
    written_at  N  epoch microseconds when the sync wrote it
    expires_at  N  epoch seconds of feature_ts + ttl rounded up (DynamoDB's TTL attribute),
                   if a ttl: DynamoDB may delete an item once expires_at is past, and
                   the lookup serves it until feature_ts + ttl, so never round down
    <feature>   one attribute per feature: N for int64/float64 and timestamp (epoch
                microseconds), S for string, BOOL for bool, NULL for a null value

Multi-column keys are percent-encoded per column and joined with ``|``, so ("1", "23")
and ("12", "3") can never meet in one item. The sync writes and the lookup reads through
this one module, in DynamoDB's low-level attribute format (no boto3 import: the Lambda's
cold start stays small).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from urllib.parse import quote, unquote

from featurestore.contracts import Entity, FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import BadValueError, RequestError

MAX_ITEM_BYTES = 400 * 1024
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.~-]+")  # what quote() leaves as it is
# ASCII digits only: str.isdigit() also takes '²' and other digits int() refuses
_INT_TEXT = re.compile(r"-?[0-9]+")
_EPOCH = dt.datetime(1970, 1, 1)
RESERVED_ATTRIBUTES = ("pk", "sk", "feature_ts", "written_at", "expires_at")


def to_epoch_micros(ts: dt.datetime) -> int:
    """Naive timestamps are UTC (the warehouse's convention); aware ones are converted."""
    delta = utc_naive(ts) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_micros(micros: int) -> dt.datetime:
    """The naive UTC timestamp of ``micros``."""
    return _EPOCH + dt.timedelta(microseconds=int(micros))


def coerce_key_value(entity: Entity, key_name: str, value: object) -> int | str:
    """A key value as its declared dtype; RequestError names the key otherwise."""
    dtype = entity.key_dtypes[key_name]
    if dtype == "int64":
        if type(value) is int and -(2**63) <= value < 2**63:  # the common case, first
            return value
        given = value
        if isinstance(value, bool):
            value = None
        elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            value = int(value.strip())
        if not isinstance(value, int) or not -(2**63) <= value < 2**63:
            raise RequestError(
                f"entity `{entity.name}`: key `{key_name}` must be an int64, got {given!r}"
            )
        return value
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        raise RequestError(
            f"entity `{entity.name}`: key `{key_name}` must be a non-empty string, got {value!r}"
        )
    return str(value)


def coerce_key(entity: Entity, key: dict) -> dict:
    """Every join key of ``entity`` as its dtype, in key order; RequestError names a
    missing or mistyped one."""
    typed = {}
    for join_key in entity.join_keys:
        value = key.get(join_key.name)
        if value is None:
            raise RequestError(
                f"entity `{entity.name}` needs key `{join_key.name}` "
                f"(its keys: {', '.join(entity.key_names)})"
            )
        typed[join_key.name] = coerce_key_value(entity, join_key.name, value)
    return typed


def pk_of(entity: Entity, typed: dict) -> str:
    """The partition key of a key already coerced by ``coerce_key``."""
    parts = []
    for name in entity.key_names:
        text = str(typed[name])
        parts.append(text if _PLAIN_KEY.fullmatch(text) else quote(text, safe="-_.~"))
    return f"{entity.name}#{'|'.join(parts)}"


def entity_pk(entity: Entity, key: dict) -> str:
    """The partition key of an entity; every join key must be present."""
    return pk_of(entity, coerce_key(entity, key))


def key_from_pk(entity: Entity, pk: str) -> dict:
    """Inverse of ``entity_pk``: the typed key values of an item's partition key."""
    prefix, _, encoded = pk.partition("#")
    if prefix != entity.name:
        raise ValueError(f"partition key {pk!r} is not of entity {entity.name!r}")
    values = encoded.split("|")
    return {
        k.name: int(unquote(v)) if k.dtype == "int64" else unquote(v)
        for k, v in zip(entity.join_keys, values, strict=True)
    }


def view_sk(view: FeatureView) -> str:
    return f"{view.name}#v{view.version}"


def _number(value: object) -> str:
    if not isinstance(value, float):
        return str(int(value))
    text = repr(value)  # the shortest text that reads back as the same float
    # Decimal only rewrites an exponent ('1e-07' -> '1E-7'); other texts stay as they are
    return text if "e" not in text else str(Decimal(text))


def encode_value(view: FeatureView, key: dict, feature_name: str, dtype: str, value) -> dict:
    """One feature value as a DynamoDB attribute; BadValueError for what cannot be held."""

    def bad(problem: str) -> BadValueError:
        return BadValueError(view.name, key, feature_name, problem)

    if value is None:
        return {"NULL": True}
    if dtype == "int64":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"{value!r} is not an int64 (the contract says int64)")
        return {"N": str(value)}
    if dtype == "float64":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise bad(f"{value!r} is not a number (the contract says float64)")
        if isinstance(value, float) and not math.isfinite(value):
            raise bad(f"{value!r} cannot be stored in DynamoDB (NaN and infinity have no "
                      "DynamoDB number); fix the model or make it null")
        return {"N": str(value) if isinstance(value, Decimal) else _number(float(value))}
    if dtype == "string":
        if not isinstance(value, str):
            raise bad(f"{value!r} is not a string (the contract says string)")
        return {"S": value}
    if dtype == "bool":
        if not isinstance(value, bool):
            raise bad(f"{value!r} is not a bool (the contract says bool)")
        return {"BOOL": value}
    if not isinstance(value, dt.datetime):
        raise bad(f"{value!r} is not a timestamp (the contract says timestamp)")
    return {"N": str(to_epoch_micros(value))}


def encode_item(view: FeatureView, row: dict, written_at_us: int) -> dict:
    """The DynamoDB item (low-level format) of one warehouse row of ``view``."""
    key = {k: row.get(k) for k in view.keys}
    single = view.keys[0] if len(view.keys) == 1 else None
    value = key[single] if single else None
    if (type(value) is int and -(2**63) <= value < 2**63
            and view.entity.join_keys[0].dtype == "int64"):
        pk = f"{view.entity.name}#{value}"  # what entity_pk gives, without its checks
    else:
        try:
            pk = entity_pk(view.entity, key)
        except RequestError as exc:
            raise BadValueError(view.name, key, view.keys[0], str(exc)) from None
    feature_ts = row.get(view.timestamp)
    if not isinstance(feature_ts, dt.datetime):
        raise BadValueError(view.name, key, view.timestamp,
                            f"{feature_ts!r} is not a timestamp; every row needs one")
    ts_us = to_epoch_micros(feature_ts)
    item = {
        "pk": {"S": pk},
        "sk": {"S": view_sk(view)},
        "feature_ts": {"N": str(ts_us)},
        "written_at": {"N": str(written_at_us)},
    }
    if view.ttl_seconds:
        item["expires_at"] = {"N": str(-(-ts_us // 1_000_000) + view.ttl_seconds)}
    strings = 0  # an upper bound of the string values' bytes (UTF-8: 4 a character)
    for feature in view.features:
        name, dtype = feature.name, feature.dtype
        value = row.get(name)
        # the common cases first, as encode_value would encode them
        if value is None:
            item[name] = {"NULL": True}
        elif dtype == "int64" and type(value) is int:
            item[name] = {"N": str(value)}
        elif dtype == "float64" and type(value) is float and math.isfinite(value):
            item[name] = {"N": _number(value)}
        else:
            item[name] = encode_value(view, key, name, dtype, value)
            if type(value) is str:
                strings += 4 * len(value)
    if _size_bound(view) + 4 * len(pk) + strings <= MAX_ITEM_BYTES:
        return item  # cannot be over the limit: spare the exact count
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise BadValueError(view.name, key, max(
            view.feature_names, key=lambda n: item_size({n: item[n]})),
            f"the item is {size:,} bytes, over DynamoDB's 400 KB item limit; this is "
            "the largest attribute: shorten it or move it out of the online view")
    return item


_BOUNDS: dict[int, tuple[FeatureView, int]] = {}


def _size_bound(view: FeatureView) -> int:
    """An upper bound of an item's size but its pk and string values: every name, and 21
    bytes for any other value (a DynamoDB number is at most 21), once per view object."""
    known = _BOUNDS.get(id(view))
    if known is None or known[0] is not view:
        names = [*RESERVED_ATTRIBUTES, *view.feature_names]
        known = _BOUNDS[id(view)] = (view, sum(len(n.encode()) + 21 for n in names)
                                     + len(view_sk(view).encode()))
    return known[1]


def item_size(item: dict) -> int:
    """DynamoDB's item size rule: attribute name bytes plus value bytes."""
    total = 0
    for name, attribute in item.items():
        total += len(name.encode())
        (kind, value), = attribute.items()
        if kind == "S":
            total += len(value.encode())
        elif kind == "N":
            total += (len(value.lstrip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
        else:
            total += 1
    return total


def decode_value(dtype: str, attribute: dict | None):
    if attribute is None or "NULL" in attribute:
        return None
    if dtype == "int64":
        return int(attribute["N"])
    if dtype == "float64":
        return float(attribute["N"])
    if dtype == "string":
        return attribute["S"]
    if dtype == "bool":
        return attribute["BOOL"]
    return from_epoch_micros(int(attribute["N"]))


def decode_item(view: FeatureView, item: dict, features: list[str] | None = None):
    """``(feature_ts, {feature: value})`` of an item; absent attributes read as null."""
    feature_ts = from_epoch_micros(int(item["feature_ts"]["N"]))
    names = features or view.feature_names
    values = {name: decode_value(view.feature(name).dtype, item.get(name)) for name in names}
    return feature_ts, values
