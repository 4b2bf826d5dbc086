"""What a lookup request asks for: each entity's typed keys and the view plans of the
features asked (``EntityRequest``, ``ViewPlan``), parsed from a GET path and query or a
POST body, and every refusal a 400 (``RequestError``) naming what is wrong.

Everything DynamoDB would refuse is refused here first (a key too long for a partition
key, text that is not Unicode, more keys than one BatchGetItem), so a bad request can
never degrade the answers of the good keys read with it. ``service.lookup`` answers the
plans.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache

from featurestore.contracts import Catalog, Entity, Feature, FeatureView
from featurestore.errors import RequestError
from featurestore.feature_refs import (
    FeatureRef,
    pick_version,
    resolve_all,
    resolve_entity,
    resolve_refs,
    split_refs,
)
from featurestore.lookup.events import is_utf8
from featurestore.lookup.on_demand import plan_on_demand, planned, request_rows
from featurestore.lookup.versions import EMPTY as NO_POINTERS
from featurestore.lookup.versions import Snapshot
from featurestore.online.items import (
    coerce_key_value,
    pk_of,
    to_epoch_micros,
    view_sk,
)

MAX_KEYS = 100  # BatchGetItem reads at most 100 items per call; a request stays in one
MAX_PK_BYTES = 2048  # DynamoDB's limit for a partition key value; past it the whole
# BatchGetItem is refused, so a key that long is the request's fault (400), never the store's
_EPOCH = dt.datetime(1970, 1, 1)


@lru_cache(maxsize=65536)  # hot keys repeat their feature_ts request after request
def iso_micros(micros: int) -> str:
    """Epoch microseconds as ISO-8601 UTC with ``Z`` (fraction only when there is one)."""
    return (_EPOCH + dt.timedelta(microseconds=micros)).isoformat() + "Z"


def json_value(value: object) -> object:
    """A feature value as JSON: timestamps become ISO strings with ``Z``."""
    if isinstance(value, dt.datetime):
        return iso_micros(to_epoch_micros(value))
    return value


@dataclass(frozen=True)
class ViewPlan:
    """The features asked of one view, with what the answer needs precomputed."""

    view: FeatureView
    sk: str
    features: tuple[Feature, ...]
    refs: tuple[str, ...]  # "view:feature", the response's names
    defaults: tuple[object, ...]  # JSON-ready defaults, in feature order
    ttl_us: int | None
    slo_us: int | None
    pinned: bool = False  # asked as `view@vN`, not at the served version


@dataclass(frozen=True)
class EntityRequest:
    """One entity's keys and the views asked of them (a GET, or one item of a POST).

    ``shadows``: other versions of views asked for, read with them and answered only to
    the serving log (``?shadow=view@v2``). ``on_demand``: the on-demand features asked
    (lookup/on_demand.py), computed per key from ``request_rows`` (each key's typed
    request fields) and the stored ``inputs``, which are read but not answered."""

    entity: Entity
    keys: tuple[dict, ...]  # typed, as echoed in the response
    pks: tuple[str, ...]
    views: tuple[ViewPlan, ...]
    shadows: tuple[ViewPlan, ...] = ()
    on_demand: tuple = ()  # lookup/on_demand.py's OnDemandPlan
    inputs: tuple[ViewPlan, ...] = ()
    request_rows: tuple[dict, ...] = ()

    @property
    def feature_refs(self) -> list[str]:
        return [ref for plan in self.views for ref in plan.refs]


def plan_view(view: FeatureView, features: list[Feature], prefix: str | None = None) -> ViewPlan:
    """``prefix``: how the answer names the view (``view``, or ``view@v2`` when pinned)."""
    pinned = prefix is not None and prefix != view.name
    prefix = prefix or view.name
    return ViewPlan(
        view=view, sk=view_sk(view), features=tuple(features),
        refs=tuple(f"{prefix}:{f.name}" for f in features),
        defaults=tuple(json_value(f.default) for f in features),
        ttl_us=view.ttl_seconds * 1_000_000 if view.ttl_seconds else None,
        slo_us=view.freshness_slo_seconds * 1_000_000 if view.freshness_slo_seconds else None,
        pinned=pinned,
    )


def resolve_features(catalog: Catalog, entity: Entity, refs: object,
                     snapshot: Snapshot | None = None) -> tuple[ViewPlan, ...]:
    """``["view:feature", "view@v2:feature", "view", ...]`` (or one comma-separated
    string) as view plans; an unpinned view at the version ``snapshot`` serves.

    A view the snapshot cannot serve (its pointer names a version this lookup does not
    know, or a retired one) raises its ``VersionUnavailable`` when asked without a pin:
    never another version's values or defaults."""
    return _resolve(catalog, entity, refs, snapshot)[0]


def _resolve(catalog: Catalog, entity: Entity, refs: object, snapshot: Snapshot | None):
    """``(view plans, on-demand plans, their inputs' plans)``."""
    snapshot = snapshot or NO_POINTERS
    if snapshot.problems:
        for ref in split_refs(refs, hint="features=view:feature,..."):
            if ref.version is None and ref.view in snapshot.problems:
                raise snapshot.problems[ref.view]
            if ref.view in catalog.on_demand:
                for item in catalog.on_demand[ref.view].inputs:
                    if item.version is None and item.view in snapshot.problems:
                        raise snapshot.problems[item.view]
    if not catalog.on_demand:  # the plain path, as before on-demand views existed
        return tuple(plan_view(found.view, found.features, found.prefix)
                     for found in resolve_refs(catalog, refs, entity=entity,
                                               served=snapshot.served,
                                               retired=snapshot.retired)), (), ()

    def plan():
        resolution = resolve_all(catalog, refs, entity=entity, served=snapshot.served,
                                 retired=snapshot.retired)
        plans, inputs = plan_on_demand(resolution, plan_view)
        return (tuple(plan_view(found.view, found.features, found.prefix)
                      for found in resolution.stored), plans, inputs)
    return planned(catalog, snapshot, entity.name, refs, plan)


def shadow_plans(catalog: Catalog, views: tuple[ViewPlan, ...], shadow: object,
                 snapshot: Snapshot | None = None, *, explicit: bool = True,
                 ) -> tuple[ViewPlan, ...]:
    """The shadow reads of a request: for each ``view@vN`` of ``shadow`` (a list or a
    comma-separated string), the features asked of that view that version N also has,
    unless N is the version already read. ``explicit`` (a request's own ``shadow``): a
    malformed, unknown or retired one, or a view the request does not read, is a 400;
    a key's configured shadows are skipped where they do not apply."""
    if shadow is None or shadow == "" or shadow == []:
        return ()
    items = shadow.split(",") if isinstance(shadow, str) else shadow
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise RequestError(f"`shadow` must be a list of \"view@vN\" names, got {_echo(shadow)}")
    snapshot = snapshot or NO_POINTERS
    plans: list[ViewPlan] = []
    for text in (i.strip() for i in items if i.strip()):
        try:
            ref = FeatureRef.parse(text)
            if ref.version is None or ref.feature is not None:
                raise RequestError(f"shadow `{_cut(text)}`: name a view version, like "
                                   "`user_transactions@v2` (all the features asked of the "
                                   "view are read at that version too)")
            if ref.view not in catalog.views:
                raise RequestError(f"shadow `{_cut(text)}`: unknown feature view "
                                   f"`{_cut(ref.view)}`; known views: "
                                   f"{', '.join(sorted(catalog.views))}")
            version = pick_version(catalog, ref.view, ref.version, retired=snapshot.retired)
        except RequestError as exc:
            if explicit:
                raise RequestError(str(exc) if str(exc).startswith("shadow") else
                                   f"shadow `{_cut(text)}`: {exc}") from None
            continue
        served = [p for p in views if p.view.name == ref.view]
        if not served:
            if explicit:
                raise RequestError(f"shadow `{_cut(text)}`: this request reads no feature of "
                                   f"`{ref.view}`; a shadow version is read beside the "
                                   "features asked of its view")
            continue
        for plan in served:
            if plan.view.version == version.version:
                continue
            shared = [version.feature(f.name) for f in plan.features
                      if f.name in version.feature_names]
            prefix = f"{version.name}@v{version.version}"
            if shared and all(p.sk != view_sk(version) or p.features != tuple(shared)
                              for p in plans):
                plans.append(plan_view(version, shared, prefix))
    return tuple(plans)


def typed_key(entity: Entity, key: object) -> tuple[dict, str]:
    """``(typed key, pk)``; RequestError naming the key when it does not fit.

    Everything DynamoDB would refuse is refused here, with a 400 that names the key: a
    refused key would otherwise fail the whole BatchGetItem and degrade every key of the
    request to its defaults.
    """
    if not isinstance(key, dict):
        raise RequestError(
            f"entity `{entity.name}`: each key must be an object like "
            f"{json.dumps({k: '...' for k in entity.key_names})}, got {_echo(key)}"
        )
    unknown = [name for name in key if name not in entity.key_dtypes]
    if unknown:
        raise RequestError(
            f"entity `{entity.name}` has no key `{_cut(unknown[0])}`; its keys: "
            f"{', '.join(entity.key_names)}"
        )
    typed = {}
    for join_key in entity.join_keys:
        name = join_key.name
        value = key.get(name)
        if value is None:
            raise RequestError(
                f"entity `{entity.name}` needs key `{name}` "
                f"(its keys: {', '.join(entity.key_names)})"
            )
        if isinstance(value, str) and len(value) > MAX_PK_BYTES:  # before any work on it
            raise _too_long(entity, name, len(entity.name) + 1 + len(
                value.encode("utf-8", "surrogatepass")), at_least=True)
        try:
            typed[name] = coerce_key_value(entity, name, value)
        except ValueError:  # int() refuses a text that str.isdigit() let through: "²", "--5"
            raise RequestError(f"entity `{entity.name}`: key `{name}` must be an int64, "
                               f"got {value!r}") from None
    try:
        pk = pk_of(entity, typed)
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON) is no UTF-8 text
        bad = next(n for n, v in typed.items() if isinstance(v, str) and not is_utf8(v))
        raise RequestError(f"entity `{entity.name}`: key `{bad}` is not valid Unicode text "
                           "(it holds a lone surrogate)") from None
    if len(pk) > MAX_PK_BYTES:  # percent-encoding makes a non-ASCII character 3 to 12 bytes
        longest = max(typed, key=lambda n: len(str(typed[n]).encode()))
        raise _too_long(entity, longest, len(pk))
    return typed, pk


def _too_long(entity: Entity, name: str, size: int, at_least: bool = False) -> RequestError:
    return RequestError(
        f"entity `{entity.name}`: key `{name}` is too long: its DynamoDB partition key "
        f"(`{entity.name}#<key>`, percent-encoded) would be {'at least ' if at_least else ''}"
        f"{size:,} bytes, over DynamoDB's limit of {MAX_PK_BYTES:,}"
    )


MAX_ECHO = 200  # characters of a bad value quoted back in a message


def _cut(text: str) -> str:
    return text if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}... ({len(text):,} characters)"


def _echo(value: object) -> str:
    """A bad value as JSON for a message, cut to ``MAX_ECHO`` characters."""
    try:
        text = json.dumps(value, default=str)
    except (ValueError, RecursionError):
        text = type(value).__name__
    return _cut(text)


def entity_request(catalog: Catalog, entity_name: object, keys: object,
                   features: object, *, snapshot: Snapshot | None = None,
                   shadow: object = None, key_shadow: tuple[str, ...] = (),
                   request: object = None, request_text: bool = False) -> EntityRequest:
    """One entity's request; ``snapshot``: the serving pointers it is answered from;
    ``shadow``: the request's own shadow versions; ``key_shadow``: its API key's;
    ``request``: the request fields of the on-demand features asked (one mapping for
    every key, or a list of one per key; ``request_text``: query text, from a GET)."""
    entity = resolve_entity(catalog, entity_name)
    if not isinstance(keys, list) or not keys:
        raise RequestError(
            f"entity `{entity.name}`: `keys` must be a non-empty list of key objects"
        )
    if len(keys) > MAX_KEYS:
        raise RequestError(too_many_keys(len(keys)))
    views, on_demand, inputs = _resolve(catalog, entity, features, snapshot)
    shadows = shadow_plans(catalog, views, shadow, snapshot)
    if key_shadow:
        shadows += tuple(p for p in shadow_plans(catalog, views, list(key_shadow), snapshot,
                                                 explicit=False) if p not in shadows)
    typed = [typed_key(entity, key) for key in keys]
    rows = request_rows(on_demand, request, len(keys), text=request_text)
    return EntityRequest(entity, tuple(t for t, _ in typed), tuple(p for _, p in typed), views,
                         shadows, on_demand, inputs, rows)


def too_many_keys(count: int) -> str:
    return (f"{count} keys in one request; the limit is {MAX_KEYS} (one DynamoDB "
            "BatchGetItem). Split the request.")


def get_request(catalog: Catalog, entity_name: str, key_text: str,
                features: str | None, *, snapshot: Snapshot | None = None,
                shadow: str | None = None, key_shadow: tuple[str, ...] = (),
                request: dict[str, str] | None = None) -> EntityRequest:
    """The request of ``GET /v1/features/{entity}/{key}``; ``request``: the
    ``request.<field>`` query parameters, by field.

    A multi-column key is its values in join-key order separated by ``|``
    (``/v1/features/user_device/42|d-0001``); values holding ``|`` need the POST route.
    """
    entity = resolve_entity(catalog, entity_name)
    if features is None:
        raise RequestError(
            "name the features to read: ?features=view:feature,... (or a whole view by name)"
        )
    parts = key_text.split("|")
    if len(parts) != len(entity.key_names):
        raise RequestError(
            f"entity `{entity.name}` has {len(entity.key_names)} key column(s) "
            f"({', '.join(entity.key_names)}); the path gave {len(parts)} value(s): "
            f"`{key_text}`. Separate values with `|` in that order."
        )
    return entity_request(catalog, entity.name, [dict(zip(entity.key_names, parts,
                                                          strict=True))], features,
                          snapshot=snapshot, shadow=shadow, key_shadow=key_shadow,
                          request=request, request_text=True)


def post_requests(catalog: Catalog, body: bytes | str | None, *,
                  snapshot: Snapshot | None = None,
                  key_shadow: tuple[str, ...] = ()) -> list[EntityRequest]:
    """The requests of ``POST /v1/features/retrieve``.

    The body is either one entity's request or several under ``requests``::

        {"entity": "user", "keys": [{"user_id": 42}], "features": ["user_profile:country"]}
        {"requests": [{"entity": "user", ...}, {"entity": "merchant", ...}]}

    Each may name ``shadow`` versions (``["user_transactions@v2"]``), and give the
    request fields of the on-demand features it asks (``"request": {"amount": 12.5}``
    for every key, or a list of one object per key). At most ``MAX_KEYS`` keys over the
    whole body.
    """
    if not body:
        raise RequestError("the request body is empty; send a JSON object like "
                                 '{"entity": "user", "keys": [{"user_id": 42}], '
                                 '"features": ["user_profile:country"]}')
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestError(f"the request body is not valid UTF-8 (byte "
                               f"0x{body[exc.start]:02x} at position {exc.start}); send "
                               "JSON in UTF-8") from None
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError("the request body is not valid JSON for this endpoint: it nests "
                           "deeper than any request needs") from None
    if not isinstance(document, dict):
        raise RequestError("the request body must be a JSON object with `entity`, "
                                 "`keys` and `features`, or a list of them under `requests`")
    items = document["requests"] if "requests" in document else [document]
    if not isinstance(items, list) or not items:
        raise RequestError("`requests` must be a non-empty list of "
                                 "{entity, keys, features} objects")
    total = sum(len(i["keys"]) for i in items if isinstance(i, dict)
                and isinstance(i.get("keys"), list))
    if total > MAX_KEYS:
        raise RequestError(too_many_keys(total))
    requests = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise RequestError(f"requests[{index}] must be an object with `entity`, "
                                     "`keys` and `features`")
        extra = sorted(set(item) - {"entity", "keys", "features", "shadow", "request"})
        if extra:
            raise RequestError(f"unknown field `{_cut(extra[0])}` in the request; allowed: "
                                     "entity, keys, features, shadow, request")
        for name in ("entity", "keys", "features"):
            if name not in item:
                raise RequestError(f"the request is missing `{name}`")
        requests.append(entity_request(catalog, item["entity"], item["keys"],
                                       item["features"], snapshot=snapshot,
                                       shadow=item.get("shadow"), key_shadow=key_shadow,
                                       request=item.get("request")))
    return requests
