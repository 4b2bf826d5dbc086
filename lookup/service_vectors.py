"""Feature services online: the model-ready vector of ``GET /v1/services/{service}/
{entity}/{key}`` and ``POST /v1/services/{service}/retrieve``.

A service's record in the registry snapshot (featurestore/feature_services/serving.py)
carries its frozen parameter set: which version of each view the training set read,
and each transformation's parameters. The lookup reads exactly those view versions
(never the one served to other callers, which may have moved on since) through the
ordinary lookup (``service.lookup``: the same statuses, TTLs and defaults as training),
then applies the transformations as one generated function of the raw vector (the
on-demand evaluator's code generation), built from the same parameters by the same
function as the training set's SQL (featurestore/feature_services/transforms.py).
Nothing is computed from live data.

The answer names the service and parameter versions served, the vector's ``columns``
(the training set's names: raw features in the service's order, then the transformed
columns) and per key the ``vector`` and each raw value's status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from featurestore.errors import RequestError
from featurestore.feature_refs import resolve_entity
from featurestore.lookup.plans import EntityRequest, plan_view, typed_key
from featurestore.lookup.service import MAX_KEYS, too_many_keys


@dataclass(frozen=True)
class ServedService:
    """One service as the lookup serves it (``problem``: why it cannot be, the 409)."""

    name: str
    version: int
    entity: str
    names: tuple[str, ...]  # "view:feature", the service's order
    # (view, version frozen, feature, whether it is an on-demand view's)
    features: tuple[tuple[str, int, str, bool], ...] = ()
    columns: tuple[str, ...] = ()
    # the transformed columns of the raw values (in the service's order), in order: one
    # generated function (featurestore/feature_services/transforms.py's compiled_vector)
    transform: Callable[[list], tuple] = tuple
    parameters_version: int | None = None
    parameters_sha256: str | None = None
    problem: str | None = None
    reads: tuple[tuple[str, int], ...] = ()  # on-demand inputs: the view versions frozen


def served_service(record: dict) -> ServedService:
    """A snapshot record as a ``ServedService``, its transformations compiled."""
    base = ServedService(record["name"], int(record["version"]), record["entity"],
                         tuple(record["features"]), problem=record.get("problem"))
    frozen = record.get("parameters")
    if base.problem or not frozen:
        return base
    from featurestore.feature_services.transforms import compiled_vector

    document = frozen["document"]
    features = document["features"]
    position = {f["name"]: i for i, f in enumerate(features)}
    transform = compiled_vector([(position[t["feature"]], t["kind"], t["dtype"], t["params"])
                                 for t in document["transformations"]])
    columns = (*(f["column"] for f in features),
               *(c for t in document["transformations"] for c in t["columns"]))
    return ServedService(
        base.name, base.version, base.entity, tuple(f["name"] for f in features),
        tuple((f["view"], int(f["version"]), f["feature"], bool(f.get("on_demand")))
              for f in features), columns, transform, int(frozen["version"]),
        frozen["sha256"], reads=tuple((document.get("reads") or {}).items()))


def services_from_snapshot(snapshot: dict) -> dict[str, ServedService]:
    return {name: served_service(record)
            for name, record in (snapshot.get("services") or {}).items()}


def service_of(services: dict[str, ServedService], name: str) -> ServedService:
    """The service ``name`` if it can be served: 404 for an unknown one, 409 naming the
    command to run for one whose parameters are not frozen."""
    served = services.get(name)
    if served is None:
        known = ", ".join(sorted(services)) or "none"
        raise RequestError(f"unknown feature service `{name}`; known services: {known}",
                           status=404)
    if served.problem:
        raise RequestError(served.problem, status=409)
    return served


def _frozen_views(catalog, served: ServedService) -> None:
    """Each stored view version the parameters were frozen on must be one this lookup
    serves, and each on-demand view's the version it computes: a 409 naming the fix
    otherwise (never another version's values)."""
    wanted = {(v, n) for v, n, _, on_demand in served.features if not on_demand}
    for name, version in sorted(wanted | set(served.reads)):
        view = catalog.versions_of(name).get(version) if name in catalog.views else None
        if view is None or view.retired:
            why = "a retired version" if view is not None else "a version this lookup lacks"
            raise RequestError(
                f"the parameters of `{served.name}` (set {served.parameters_version}) were "
                f"frozen on `{name}@v{version}`, {why} (not online, or not in the registry "
                f"snapshot); freeze a new parameter set on a live version and rebuild the "
                f"lookup (featurestore package-lambda)", status=409)
    for name, version in sorted({(v, n) for v, n, _, on_demand in served.features
                                 if on_demand}):
        view = catalog.on_demand.get(name)
        if view is None or view.version != version:  # its expressions are another's now
            now = f"v{view.version}" if view is not None else "no version"
            raise RequestError(
                f"the parameters of `{served.name}` (set {served.parameters_version}) were "
                f"frozen on on-demand view `{name}@v{version}`, but this lookup computes "
                f"{now} of it (its expressions may differ); freeze a new parameter set on "
                f"it and rebuild the lookup (featurestore package-lambda)", status=409)


# (id of the catalog, id of the served service) -> (the catalog, the service, its plans):
# a service's plans depend on nothing else, so they are made once per catalog and
# loaded service, not per request; the objects are kept so a reused id never matches
_PLANS: dict[tuple, tuple] = {}


def _service_plans(catalog, served: ServedService) -> tuple:
    """``(view plans, on-demand plans, their inputs' plans)`` of the service: stored
    features at the versions frozen, named ``view:feature``; on-demand inputs at the
    versions the training set read."""
    key = (id(catalog), id(served))
    found = _PLANS.get(key)
    if found is not None and found[0] is catalog and found[1] is served:
        return found[2]
    from featurestore.feature_refs import resolve_all
    from featurestore.lookup.on_demand import plan_on_demand

    _frozen_views(catalog, served)
    refs = [f"{view}:{feature}" if on_demand else f"{view}@v{version}:{feature}"
            for view, version, feature, on_demand in served.features]
    resolution = resolve_all(catalog, refs, entity=resolve_entity(catalog, served.entity),
                             served=dict(served.reads))
    views = tuple(plan_view(found.view, found.features, found.view.name)
                  for found in resolution.stored)
    plans = (views, *plan_on_demand(resolution, plan_view))
    if len(_PLANS) >= 64:  # catalogs reloaded many times: start again
        _PLANS.clear()
    _PLANS[key] = (catalog, served, plans)
    return plans


def entity_request(catalog, served: ServedService, keys: object, *, request: object = None,
                   text: bool = False) -> EntityRequest:
    """The service's features for ``keys``, its on-demand features over ``request``
    (their request fields: one mapping for every key, or a list of one per key;
    ``text``: a GET's query text)."""
    from featurestore.lookup.on_demand import request_rows

    entity = resolve_entity(catalog, served.entity)
    if not isinstance(keys, list) or not keys:
        raise RequestError(f"service `{served.name}`: `keys` must be a non-empty list of "
                           f"{served.entity} key objects")
    if len(keys) > MAX_KEYS:
        raise RequestError(too_many_keys(len(keys)))
    views, on_demand, inputs = _service_plans(catalog, served)
    typed = [typed_key(entity, key) for key in keys]
    rows = request_rows(on_demand, request, len(keys), text=text)
    return EntityRequest(entity, tuple(t for t, _ in typed), tuple(p for _, p in typed),
                         views, (), on_demand, inputs, rows)


def get_request(catalog, served: ServedService, entity_name: str, key_text: str,
                request: dict | None = None) -> EntityRequest:
    """``GET /v1/services/{service}/{entity}/{key}``: one key, its values in join-key
    order separated by ``|``; ``request``: the ``request.<field>`` query parameters."""
    if entity_name != served.entity:
        raise RequestError(f"service `{served.name}` reads entity `{served.entity}`, not "
                           f"`{entity_name}`: ask /v1/services/{served.name}/"
                           f"{served.entity}/{{key}}")
    entity = resolve_entity(catalog, served.entity)
    parts = key_text.split("|")
    if len(parts) != len(entity.key_names):
        raise RequestError(
            f"entity `{entity.name}` has {len(entity.key_names)} key column(s) "
            f"({', '.join(entity.key_names)}); the path gave {len(parts)} value(s). "
            "Separate values with `|` in that order.")
    return entity_request(catalog, served, [dict(zip(entity.key_names, parts, strict=True))],
                          request=request, text=True)


def post_request(catalog, served: ServedService, body: bytes | str | None) -> EntityRequest:
    """``POST /v1/services/{service}/retrieve``: ``{"keys": [{...}, ...]}``, and the
    on-demand features' ``request`` fields (one object, or one per key)."""
    example = json.dumps({"keys": [{name: "..." for name in
                                    resolve_entity(catalog, served.entity).key_names}]})
    if not body:
        raise RequestError(f"the request body is empty; send {example}")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestError(f"the request body is not valid JSON; send {example}") from None
    if not isinstance(document, dict):
        raise RequestError(f"the request body must be a JSON object like {example}")
    extra = sorted(set(document) - {"keys", "request"})
    if extra:
        raise RequestError(f"unknown field `{str(extra[0])[:80]}` in the request; allowed: "
                           "keys, request")
    return entity_request(catalog, served, document.get("keys"),
                          request=document.get("request"))


def vector_rows(served: ServedService, request: EntityRequest, rows: list[dict]) -> list[dict]:
    """Per key: its ``vector`` (``columns``' values) and each raw feature's answer."""
    names, transform = served.names, served.transform
    out = []
    for row in rows:
        answers = row["features"]
        raw = [answers[name]["value"] for name in names]
        vector = [*raw, *transform(raw)]
        out.append({"key": row["key"], "vector": vector,
                    "features": {name: answers[name] for name in names}})
    return out


def response_body(served: ServedService, request: EntityRequest, outcome, *,
                  regions: bool = False) -> dict:
    """The service's answer, GET and POST alike: which service and parameter versions
    were served, the columns, and one row per key under ``results``."""
    body = {"service": served.name, "service_version": served.version,
            "parameters_version": served.parameters_version,
            "parameters_sha256": served.parameters_sha256, "entity": served.entity,
            "columns": list(served.columns),
            "results": vector_rows(served, request, outcome.results[0]),
            "degraded": outcome.degraded}
    if regions:
        body["region"] = outcome.region
    return body
