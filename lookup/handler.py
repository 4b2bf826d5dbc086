"""The Lambda handler for API Gateway HTTP API (payload v2) events; served locally too.

Routes (``routes.ROUTES``, the one table this module dispatches on and ``openapi.py``
describes at ``GET /openapi.json``)::

    GET  /healthz                              liveness: 200, DynamoDB's state in the body
    GET  /readyz                               readiness: 503 while DynamoDB cannot be read
                                               (in neither region, with a replica)
    GET  /v1/feature-views                     the catalog the key may read: dtypes, SLOs
    GET  /v1/features/{entity}/{key}?features=view:feature,...[&request.<field>=...]
    POST /v1/features/retrieve                 up to 100 keys, several entities at once
    GET  /v1/services/{service}/{entity}/{key} a feature service's model-ready vector
    POST /v1/services/{service}/retrieve       the same for up to 100 keys
    GET  /openapi.json                         the OpenAPI 3.1 document of all of these

Everything slow happens once per container, at module level: the registry snapshot is
read (no YAML, no warehouse), the online store is opened with tight timeouts and a
single attempt per request (``DynamoDBStore.for_lookup``: its reader retries within the
deadline instead). The handler only parses the event (``lookup/events.py``) and calls
``service.lookup``. A routing table of eight entries
needs no framework, which keeps the cold start to our own modules and botocore.

Every answer has a JSON body: 400/401/403/404/405 say what is wrong (whatever the event
holds: a body that is not UTF-8, a key DynamoDB could not hold, even an event that is no
API Gateway event at all is a 400 naming the problem, never a 500 or a degraded answer),
503 is a readiness check that cannot reach DynamoDB (``/healthz`` stays 200), and an
unexpected exception is a 500 with a body and a logged traceback, never an empty 500.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import NamedTuple

from featurestore.errors import (
    FeatureStoreError,
    RequestError,
    VersionUnavailable,
)
from featurestore.logs import configure_lambda
from featurestore.lookup import health, service
from featurestore.lookup.access import HEADER as KEY_HEADER
from featurestore.lookup.access import AccessPolicy, Grant
from featurestore.lookup.catalog_body import catalog_document
from featurestore.lookup.events import (  # noqa: F401  (read_event and header: the API)
    JSON_HEADERS,
    body_of,
    encode_json,
    event_type,
    header,
    message,
    read_event,
    request_id,
)
from featurestore.lookup.routes import (
    ERRORS,
    INTERNAL_ERROR,
    MISCONFIGURED,
    ROUTES,
    VERSION_UNAVAILABLE,
    Router,
)
from featurestore.lookup.service_operations import ServiceOperations
from featurestore.lookup.serving_log import MODEL_HEADER, ServingLog
from featurestore.lookup.versions import DEFAULT_REFRESH_S, ServedVersions
from featurestore.online.store import OnlineStore
from featurestore.settings import Settings

log = logging.getLogger("featurestore.lookup")

ROUTER = Router(ROUTES)


class Call(NamedTuple):
    """One request, as an operation of the route table gets it."""

    event: dict
    headers: dict  # a dict, its values read through `header()` (text or 400)
    params: dict  # the path template's values: {"entity": "user", "key": "42"}
    grant: Grant | None  # None on routes that are not secured
    request_id: str
    path: str


class LookupApp(ServiceOperations):
    """One configured endpoint: catalog, online store, cache, access policy, log and
    metrics. The store (``online/store.py``) is given once, here: the features and the
    serving pointers are read from it, and a store that moves (``lookup/local.py``'s
    ``FollowingStore``) moves both. ``services``: the feature services served (name ->
    ``ServedService``), or a function giving them, called once, on first use."""

    def __init__(self, catalog, store: OnlineStore, *, cache=None,
                 access: AccessPolicy | None = None,
                 serving_log: ServingLog | None = None, metrics=None, built_at: str = "",
                 clock=None, version_refresh_s: float = DEFAULT_REFRESH_S, reload=None,
                 services=None):
        from featurestore.lookup.metrics import Metrics

        self._services = services if services is not None else {}
        self.store = store
        # the serving pointers of the views, and the catalog (lookup/versions.py);
        # ``reload``: () -> (catalog, built_at), how a local lookup reads its contracts
        # again when a pointer names a version they lack (None in Lambda)
        self.versions = ServedVersions(catalog, store, version_refresh_s, reload=reload,
                                       built_at=built_at)
        self.cache = cache
        self.access = access or AccessPolicy(None)
        self.serving_log = serving_log
        self.metrics = metrics or Metrics()
        self.clock = clock  # None: the real time; tests fix it to get exact ages
        # GET /v1/feature-views per grant: what that key may read, encoded once per catalog
        self._catalog_bodies: tuple[object, dict[Grant, str]] = (catalog, {})
        # operation id -> the method answering it: a route without one fails here, at
        # start-up, not on its first request
        self._operations = {route.operation_id: getattr(self, f"_{route.operation_id}")
                            for route in ROUTES}

    @property
    def catalog(self):
        """The contracts served: the registry snapshot's, or those reloaded since."""
        return self.versions.catalog

    @property
    def built_at(self) -> str:
        return self.versions.built_at

    @property
    def services(self) -> dict:
        if callable(self._services):
            self._services = self._services()
        return self._services

    @property
    def regions(self) -> dict[str, str] | None:
        """``{"primary": region, "replica": region}`` of a table in two regions (whose
        answers name the region that gave them), else None."""
        return getattr(self.store, "regions", None)

    @classmethod
    def from_settings(cls, settings: Settings, *, catalog=None, built_at: str = "",
                      serving_log: ServingLog | None | str = "default",
                      access: AccessPolicy | None = None, reload=None,
                      store: OnlineStore | None = None, services=None) -> LookupApp:
        """The app as ``settings`` configure it (see deploy/README.md for the variables).

        Without ``catalog``, the registry snapshot (bundled in the Lambda zip, or the file
        FEATURESTORE_REGISTRY names) is the catalog. The default serving log is stdout in
        Lambda (CloudWatch) and FEATURESTORE_SERVING_LOG_DIR locally; None logs nothing.
        Without ``store``, the settings' DynamoDB, opened for the lookup's deadline (both
        regions, with a replica: ``online/failover.py``).
        """
        from featurestore.lookup.cache import TTLCache
        from featurestore.lookup.metrics import Metrics
        from featurestore.lookup.registry_snapshot import load_snapshot
        from featurestore.online.failover import lookup_store

        lookup_settings = settings.lookup
        if catalog is None:
            catalog, built_at, services = load_snapshot(lookup_settings.registry,
                                                        with_services=True)
        if store is None:
            store = lookup_store(
                settings.online, deadline_s=lookup_settings.deadline_ms / 1000,
                consistent_read=lookup_settings.consistent_read, max_pool_connections=32)
        cache = (TTLCache(lookup_settings.cache_size, lookup_settings.cache_ttl_ms / 1000)
                 if lookup_settings.cache else None)
        if serving_log == "default":
            sample = lookup_settings.serving_log_sample
            pii_key = lookup_settings.serving_log_hmac_key
            serving_log = (ServingLog(sample_rate=sample, stream=sys.stdout, pii_key=pii_key)
                           if settings.in_lambda or settings.serving_log_dir is None else
                           ServingLog(sample_rate=sample, folder=settings.serving_log_dir,
                                      pii_key=pii_key))
        metrics = Metrics(emf_stream=sys.stdout if settings.in_lambda else None)
        if access is None:
            # No key configured is no access, unless FEATURESTORE_ALLOW_ANONYMOUS says so: a
            # deployment without keys must not serve internal features to the internet.
            access = AccessPolicy.from_settings(lookup_settings)
            if access.locked:
                log.warning("no API key is configured (FEATURESTORE_API_KEYS) and anonymous "
                            "access is off (FEATURESTORE_ALLOW_ANONYMOUS): every feature "
                            "request is refused with 401")
        return cls(catalog, store, cache=cache, access=access,
                   serving_log=serving_log, metrics=metrics, built_at=built_at,
                   version_refresh_s=lookup_settings.version_refresh_ms / 1000, reload=reload,
                   services=services)

    # -- one request ---------------------------------------------------------------------
    def handle(self, event: dict) -> dict:
        started = time.perf_counter()
        call_id = request_id(event)
        route, outcome, hits_before = "other", None, self._cache_counts()
        unavailable = None  # the view a VersionUnavailable refused
        try:
            method, path, headers = read_event(event)
            found = ROUTER.match(path)  # (Match, path parameters) or None
            if found is not None:  # metrics are labelled by the route template, never by key
                route = found[0].template
            code, body, outcome = self._dispatch(method, path, found, event, headers,
                                                 call_id)
        except RequestError as exc:
            code = exc.status
            body = {"error": ERRORS.get(code, "error"), "message": message(str(exc))}
        except VersionUnavailable as exc:  # logged once per change by lookup/versions.py
            code, unavailable = exc.status, exc.view
            body = {"error": VERSION_UNAVAILABLE, "message": message(str(exc)),
                    "details": exc.details()}
        except FeatureStoreError as exc:
            log.error("lookup %s failed: %s", call_id, exc)
            code, body = 500, {"error": INTERNAL_ERROR, "message": message(str(exc))}
        except Exception:  # the contract is a body on every answer, even this one
            log.exception("lookup %s failed", call_id)
            code, body = 500, {"error": INTERNAL_ERROR,
                               "message": f"unexpected error; see the logs for request "
                                          f"{call_id}"}
        text = body if isinstance(body, str) else encode_json(body)
        hits_after = self._cache_counts()
        self.metrics.observe(
            route, code, time.perf_counter() - started,
            outcome.status_counts if outcome else None,
            bool(outcome and outcome.degraded),
            (hits_after[0] - hits_before[0], hits_after[1] - hits_before[1]),
            outcome.newest_us if outcome else None, unavailable=unavailable,
            region=outcome.region if outcome else None)
        return {"statusCode": code, "headers": {**JSON_HEADERS, "x-request-id": call_id},
                "body": text, "isBase64Encoded": False}

    def refuses_without_body(self, event: dict) -> bool:
        """Whether ``event`` is refused whatever its body holds (no route, another method,
        no valid API key): the local server then answers without reading the body. Pure:
        nothing is logged or counted (``handle`` does that for the refusal)."""
        try:
            method, path, headers = read_event(event)
            found = ROUTER.match(path)
            if found is None:
                return True
            route = found[0].methods.get(method)
            return route is None or (route.secured and not self.access.accepts(
                header(headers, KEY_HEADER)))
        except RequestError:
            return True

    def prometheus(self) -> tuple[str, str]:
        """``/metrics``: ``(content type, text)`` of the counters, the lags measured on
        this endpoint's clock."""
        now_us = service.to_epoch_micros(self.clock()) if self.clock else None
        return self.metrics.prometheus(self.cache, now_us)

    def _cache_counts(self) -> tuple[int, int]:
        return (self.cache.hits, self.cache.misses) if self.cache is not None else (0, 0)

    def _dispatch(self, method: str, path: str, found, event: dict, headers: dict,
                  request_id: str):
        """``(status, body, outcome)`` of the route ``found`` for ``method``: 404 and 405
        from the table, the API key checked where the route is ``secured``."""
        if found is None:
            raise RequestError(f"no route {method} {path}; routes: {ROUTER.listing}",
                               status=404)
        match, params = found
        route = match.methods.get(method)
        if route is None:
            raise RequestError(f"{path} answers {match.allowed}, not {method}", status=405)
        grant = (self.access.authenticate(header(headers, KEY_HEADER), request_id, path)
                 if route.secured else None)
        return self._operations[route.operation_id](
            Call(event, headers, params, grant, request_id, path))

    # -- the operations of routes.ROUTES, by operation id: (status, body, outcome) ---------
    def _healthz(self, call: Call):
        """Liveness: 200 whatever the store does, its state in the body."""
        return 200, health.liveness(self.store, len(self.catalog.views), self.built_at), None

    def _readyz(self, call: Call):
        """Readiness: 503 while the store cannot be read."""
        code, body = health.readiness(self.store, len(self.catalog.views), self.built_at)
        return code, body, None

    def _list_feature_views(self, call: Call):
        grant, catalog = call.grant, self.catalog
        if self._catalog_bodies[0] is not catalog:  # reloaded since
            self._catalog_bodies = (catalog, {})
        text = self._catalog_bodies[1].get(grant)
        if text is None:
            text = json.dumps(catalog_document(catalog, self.built_at, grant),
                              separators=(",", ":"))
            self._catalog_bodies[1][grant] = text
        return 200, text, None

    def _openapi_document(self, call: Call):
        from featurestore.lookup.openapi import document_text  # built on first use

        return 200, document_text(), None

    def _get_features(self, call: Call):
        query = call.event.get("queryStringParameters") or {}
        if not isinstance(query, dict):
            raise RequestError("the event's `queryStringParameters` must be an object of "
                               f"strings, got {event_type(query)}")
        features = query.get("features", query.get("names"))
        shadow = query.get("shadow")
        if shadow is not None and not isinstance(shadow, str):
            raise RequestError("the `shadow` query parameter must be text, got "
                               f"{event_type(shadow)}")
        fields = {name[8:]: value for name, value in query.items()
                  if name.startswith("request.")}  # the on-demand features' request fields
        snapshot = self._snapshot()
        requests = [service.get_request(
            snapshot.catalog, call.params["entity"], call.params["key"], features,
            snapshot=snapshot, shadow=shadow, key_shadow=call.grant.shadow,
            request=fields or None)]
        return self._lookup(call, requests, single=True)

    def _retrieve_features(self, call: Call):
        snapshot = self._snapshot()
        requests = service.post_requests(snapshot.catalog, body_of(call.event),
                                         snapshot=snapshot, key_shadow=call.grant.shadow)
        return self._lookup(call, requests, single=False)

    def _snapshot(self):
        """The serving pointers and catalog this request is answered from (one set per
        request)."""
        return self.versions.snapshot()

    def _lookup(self, call: Call, requests: list, single: bool):
        started = time.perf_counter()
        # an on-demand feature needs its own grant and its inputs' (an expression may pass
        # an input through)
        self.access.authorize(call.grant, [p for r in requests for p in (
            *r.views, *r.shadows, *r.on_demand, *r.inputs)], call.request_id, call.path)
        outcome = service.lookup(requests, self.store, cache=self.cache,
                                 now=self.clock() if self.clock else None)
        if outcome.degraded:
            log.warning("lookup %s degraded to defaults: %s", call.request_id, outcome.error)
        if self.serving_log is not None:
            self.serving_log.record(call.request_id, header(call.headers, MODEL_HEADER),
                                    requests, outcome,
                                    latency_ms=(time.perf_counter() - started) * 1000)
        return 200, service.response_body(requests, outcome, single,
                                          regions=self.regions is not None), outcome


APP: LookupApp | None = None
_INIT_ERROR: str | None = None


def _init() -> None:
    global APP, _INIT_ERROR
    try:
        settings = Settings.from_env()
        if settings.in_lambda:  # JSON logs (featurestore/logs.py); never in a test process
            configure_lambda(settings.lambda_log_format, settings.log_format)
        APP = LookupApp.from_settings(settings)
    except FeatureStoreError as exc:  # answered (with this message) by every request
        _INIT_ERROR = str(exc)
        log.error("lookup handler is misconfigured: %s", exc)
        return
    freeze_startup_objects()


def freeze_startup_objects() -> None:
    """Move what start-up built (botocore's models, the catalog: alive as long as the
    process) out of the garbage collector's sight, so a collection during a request no
    longer rescans it: fewer millisecond pauses in the latency tail.

    Frozen objects are not collected even when the interpreter exits, so they are thawed
    then (``atexit`` runs before the modules are torn down). Otherwise the reference
    cycles among them outlive their modules, and in a process that also imported DuckDB
    (``featurestore demo``, the test suite) nanobind, DuckDB's binding layer, prints
    about 40 lines of "leaked instances/types/functions" at exit."""
    import atexit
    import gc

    gc.collect()
    gc.freeze()
    atexit.unregister(gc.unfreeze)  # once, however many servers the process starts
    atexit.register(gc.unfreeze)


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # pay the set-up in Lambda's init phase
    _init()


def handler(event: dict, context: object = None) -> dict:
    """The Lambda entry point (``featurestore.lookup.handler.handler``)."""
    if APP is None:
        _init()
    if APP is None:
        return {"statusCode": 500, "headers": dict(JSON_HEADERS), "isBase64Encoded": False,
                "body": json.dumps({"error": MISCONFIGURED, "message": _INIT_ERROR})}
    return APP.handle(event)
