"""What the lookup endpoint answers: one route table, and finding a request's route in it.

``ROUTES`` is read twice: ``handler.LookupApp`` dispatches on it (method, path, whether
an API key is needed) and ``openapi.build_document`` describes it (parameters, bodies and
responses, by the names of the schemas in ``schemas.py``). A route added, removed or
secured here changes both, so the document cannot drift from what the handler does.

This module is on the cold-start path of the Lambda: it holds plain data and a matcher
of a few dict and list operations (named tuples, not dataclasses: a dataclass costs about
a millisecond to create at import); the schemas and the document are imported only when
``/openapi.json`` is first asked for.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote

from featurestore.lookup.service import MAX_KEYS
from featurestore.lookup.serving_log import MODEL_HEADER

# The `error` field of each refusal, by HTTP status. The handler answers with these names
# and the document's Error schema enumerates them (with the two 500 names and those of
# SERVER_ERRORS).
UNAVAILABLE = "unavailable"  # 503: a readiness check that cannot read DynamoDB
ERRORS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          503: UNAVAILABLE}
INTERNAL_ERROR, MISCONFIGURED = "internal_error", "misconfigured"
# 503 on a feature route: the view's serving pointer names a version this lookup does not
# know (deployed before it existed) or a retired one (errors.VersionUnavailable)
VERSION_UNAVAILABLE = "version_unavailable"
# What only the local server (`featurestore serve`) answers, when it cannot read a request
# as HTTP at all; in AWS, API Gateway answers these itself.
SERVER_ERRORS = {411: "length_required", 414: "uri_too_long", 431: "headers_too_large",
                 501: "not_implemented", 505: "http_version_not_supported"}
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's HTTP API payload limit; serve keeps it


class Param(NamedTuple):
    """A path, query or header parameter (always a string on the wire)."""

    name: str
    where: str  # "path", "query" or "header" (OpenAPI's `in`)
    description: str
    required: bool = False
    deprecated: bool = False
    example: str | None = None  # for the demo project's contracts (feature_defs/)


class Route(NamedTuple):
    """One operation: what the handler matches and the document describes.

    ``operation_id`` also names the ``LookupApp`` method that answers it (with a leading
    underscore). ``ok`` is the schema of the 200 body; ``errors`` the other statuses the
    operation itself answers, each with the Error body (404 and 405 belong to no
    operation: they answer paths and methods that are not in this table).
    """

    method: str
    path: str  # a template: "/v1/features/{entity}/{key}"
    operation_id: str
    summary: str
    description: str
    ok: str  # schema name in schemas.SCHEMAS
    # 400 on every route: an event that is not a well-formed HTTP API event, whatever path
    errors: tuple[int, ...] = (400, 500)
    params: tuple[Param, ...] = ()
    body: str | None = None  # schema name of the JSON request body
    body_examples: tuple[tuple[str, object], ...] = ()  # (name, body), for the demo
    secured: bool = False  # an API key in `x-api-key` when keys are configured
    tag: str = "features"
    listed: bool = True  # named in the 404 message (the document's route is not, so
    # that message stays as it was before /openapi.json existed)


MODEL = Param(MODEL_HEADER, "header", "The calling model's name, recorded in the serving "
              "log next to what it was served (training/serving skew checks join on it).",
              example="fraud-v3")
ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", "healthz", "Liveness",
          "200 while the process serves, whatever DynamoDB does: how many views the "
          "registry snapshot holds, when it was built, and whether DynamoDB answered one "
          "GetItem within the lookup's deadline (`store`; when it did not, `status` is "
          "`degraded` and lookups serve defaults with `degraded: true`). Point a load "
          "balancer's health check here: it never takes every instance out because "
          "DynamoDB is down, when the defaults are what keep models running. Needs no "
          "API key.",
          ok="Health", tag="operations"),
    Route("GET", "/readyz", "readyz", "Readiness",
          "200 when DynamoDB answers one GetItem within the lookup's deadline; 503 with "
          "the reason when it does not. The deep check, for a deployment's smoke test or "
          "a synthetic monitor, not for a load balancer (see /healthz); the `Degraded` "
          "metric's alarm is what pages. Needs no API key.",
          ok="Ready", errors=(400, 500, 503), tag="operations"),
    Route("GET", "/v1/feature-views", "list_feature_views", "The feature catalog",
          "The feature views this API key may read: entity and join keys, owner, ttl, "
          "freshness SLO, and per feature its dtype, sensitivity, default and description. "
          "Only the views granted to the key, and in them only the features of its "
          "sensitivities. The on-demand views apart (`on_demand_views`), with their "
          "request fields, inputs and expressions; an on-demand feature is listed when "
          "the key may read it and every stored feature it reads. Definitions only, "
          "never values.",
          ok="FeatureViews", errors=(400, 401, 500), secured=True),
    Route("GET", "/v1/features/{entity}/{key}", "get_features", "Features of one key",
          "The named features of one entity key, each with its value, `feature_ts`, "
          "`age_seconds` and status. When DynamoDB is unreachable or slow, the contract "
          "defaults are served with status DEFAULT and `degraded: true`. An on-demand "
          "feature (`txn_context:local_hour`) is computed per request from its request "
          "fields, given as `request.<field>=value` query parameters, and the stored "
          "features it reads (docs/request-time.md).",
          ok="FeatureVector", errors=(400, 401, 403, 500, 503), secured=True, params=(
              Param("entity", "path", "The entity, as declared in feature_defs/entities.yml.",
                    required=True, example="user"),
              Param("key", "path", "The key's values in join-key order, separated by `|` "
                    "(`42`, or `42|d-0001` for a two-column key); a value holding `|` needs "
                    "the POST route.", required=True, example="42"),
              Param("features", "query", "Comma-separated `view:feature` names, or a view "
                    "name for all its features.", required=True,
                    example="user_transactions:txn_count_7d,user_profile:country"),
              Param("names", "query", "The former name of `features` (used only when "
                    "`features` is absent).", deprecated=True),
              Param("request.{field}", "query", "One parameter per request field of the "
                    "on-demand features asked for, named `request.` and the field "
                    "(`request.amount=12.5&request.txn_ts=2026-05-01T12:00:00Z`): an int64 "
                    "or float64 as a number, a bool as `true` or `false`, a timestamp in "
                    "ISO-8601 (naive is UTC), a string as itself. A field left out is null; "
                    "one declared `nullable: false`, a value that does not fit its dtype or "
                    "a field no asked feature reads is a 400 naming it."),
              MODEL)),
    Route("POST", "/v1/features/retrieve", "retrieve_features", "Features of many keys",
          f"Up to {MAX_KEYS} keys over the whole body, of one entity or of several under "
          "`requests`; one result per key, in request order, each naming its entity. The "
          "request fields of on-demand features go in `request`: one object for every key "
          "of that entity request, or a list of one object per key.",
          ok="RetrieveResponse", secured=True,
          errors=(400, 401, 403, 413, 500, 503), body="RetrieveRequest", params=(MODEL,),
          body_examples=(
              ("one_entity", {"entity": "user", "keys": [{"user_id": 42}, {"user_id": 43}],
                              "features": ["user_transactions:txn_count_7d"]}),
              ("several_entities", {"requests": [
                  {"entity": "user", "keys": [{"user_id": 42}],
                   "features": ["user_transactions:txn_count_7d", "user_profile:country"]},
                  {"entity": "merchant", "keys": [{"merchant_id": 7}],
                   "features": ["merchant_risk"]}]}),
              ("on_demand", {"entity": "user", "keys": [{"user_id": 42}, {"user_id": 43}],
                             "features": ["txn_context", "user_transactions:txn_count_7d"],
                             "request": [
                                 {"amount": 120.0, "txn_ts": "2026-05-01T12:00:00Z",
                                  "merchant_country": "FR"},
                                 {"amount": 9.5, "txn_ts": "2026-05-01T12:00:05Z"}]}))),
    Route("GET", "/v1/services/{service}/{entity}/{key}", "get_service_vector",
          "A feature service's vector for one key",
          "The model-ready vector of one key, in the service's order: the raw features, "
          "then the transformed columns, computed with exactly the parameters frozen on "
          "the training set the service serves (`featurestore training-set --service`), "
          "reading the view versions that training set read. Names the service and "
          "parameter versions served; each raw value keeps its status. 404: no such "
          "service; 409: its parameters were never frozen (the message names the command).",
          ok="ServiceVector", errors=(400, 401, 403, 404, 409, 500), secured=True,
          tag="services", listed=False, params=(
              Param("service", "path", "The feature service, as named in feature_services/.",
                    required=True, example="fraud_model"),
              Param("entity", "path", "The service's entity.", required=True, example="user"),
              Param("key", "path", "The key's values in join-key order, separated by `|`.",
                    required=True, example="42"),
              Param("request.{field}", "query", "One parameter per request field of the "
                    "service's on-demand features (`request.amount=12.5`), as on "
                    "/v1/features/{entity}/{key}."),
              MODEL)),
    Route("POST", "/v1/services/{service}/retrieve", "retrieve_service_vectors",
          "A feature service's vectors for many keys",
          f"Up to {MAX_KEYS} keys of the service's entity; one row per key, in request "
          "order, each with its vector and the statuses of its raw values.",
          ok="ServiceVector", errors=(400, 401, 403, 404, 409, 413, 500), secured=True,
          tag="services", listed=False, body="ServiceRetrieveRequest",
          body_examples=(("keys", {"keys": [{"user_id": 42}, {"user_id": 43}]}),),
          params=(Param("service", "path", "The feature service.", required=True,
                        example="fraud_model"), MODEL)),
    Route("GET", "/openapi.json", "openapi_document", "This document",
          "The OpenAPI 3.1 description of this endpoint, built from the routes and schemas "
          "the handler itself uses.", ok="OpenAPIDocument", tag="operations", listed=False),
)


class Match(NamedTuple):
    """A path template's routes: what each method there answers."""

    template: str
    methods: dict[str, Route]
    allowed: str  # "GET" or "GET, POST": for the 405 message


class _Template(NamedTuple):
    length: int
    literal_at: tuple[int, ...]  # the segments that must equal `literals`
    literals: list[str]
    names: tuple[str, ...]  # the parameters, and the segments that hold them
    name_at: tuple[int, ...]
    match: Match


NO_PARAMS: dict[str, str] = {}


class Router:
    """Finds the routes of a path: one dict lookup for the fixed paths (which win, so
    ``/v1/features/retrieve`` is never read as a template), then the few templates,
    compared segment by segment."""

    def __init__(self, routes: tuple[Route, ...] = ROUTES):
        by_path: dict[str, dict[str, Route]] = {}
        for route in routes:
            methods = by_path.setdefault(route.path, {})
            if route.method in methods:
                raise ValueError(f"two routes for {route.method} {route.path}")
            methods[route.method] = route
        self.fixed: dict[tuple[str, ...], Match] = {}
        self.templates: list[_Template] = []
        for path, methods in by_path.items():
            segments = path.strip("/").split("/")
            found = Match(path, methods, ", ".join(sorted(methods)))
            variable = [i for i, s in enumerate(segments) if s.startswith("{")]
            if not variable:
                self.fixed[tuple(segments)] = found
                continue
            fixed_at = tuple(i for i in range(len(segments)) if i not in variable)
            self.templates.append(_Template(
                len(segments), fixed_at, [segments[i] for i in fixed_at],
                tuple(segments[i][1:-1] for i in variable), tuple(variable), found))
        self.listing = ", ".join(_listing(r) for r in routes if r.listed)

    def match(self, path: str) -> tuple[Match, dict[str, str]] | None:
        """``(match, path parameters)`` of ``path`` (outer slashes ignored, each segment
        percent-decoded), or None. Fixed paths share one empty, read-only parameters dict.
        """
        parts = tuple(path.strip("/").split("/"))
        if "%" in path:
            parts = tuple([unquote(p) for p in parts])
        found = self.fixed.get(parts)
        if found is not None:
            return found, NO_PARAMS
        for template in self.templates:
            if len(parts) == template.length and [
                    parts[i] for i in template.literal_at] == template.literals:
                return template.match, {name: parts[i] for name, i in zip(
                    template.names, template.name_at, strict=True)}
        return None


def _listing(route: Route) -> str:
    """``GET /v1/features/{entity}/{key}?features=...``: a route as the 404 names it."""
    query = [f"{p.name}=..." for p in route.params if p.where == "query" and p.required]
    return f"{route.method} {route.path}" + ("?" + "&".join(query) if query else "")
