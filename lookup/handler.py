"""The Lambda handler for API Gateway HTTP API (payload v2) events; served locally too.

Routes (``routes.ROUTES``, the one table this module dispatches on and ``openapi.py``
describes at ``GET /openapi.json``)::

    GET  /healthz                              liveness: 200, DynamoDB's state in the body
    GET  /readyz                               readiness: 503 while DynamoDB cannot be read
    GET  /v1/feature-views                     the catalog the key may read: dtypes, SLOs
    GET  /v1/features/{entity}/{key}?features=view:feature,...
    POST /v1/features/retrieve                 up to 100 keys, several entities at once
    GET  /openapi.json                         the OpenAPI 3.1 document of all of these

Everything slow happens once per container, at module level: the registry snapshot is
read (no YAML, no warehouse), the DynamoDB client is made with tight timeouts and a
single attempt (``reads.DynamoReader`` retries within the deadline instead). The handler
only parses the event and calls ``service.lookup``. A routing table of six entries
needs no framework, which keeps the cold start to our own modules and botocore.

Every answer has a JSON body: 400/401/403/404/405 say what is wrong (whatever the event
holds: a body that is not UTF-8, a key DynamoDB could not hold, even an event that is no
API Gateway event at all is a 400 naming the problem, never a 500 or a degraded answer),
503 is a readiness check that cannot reach DynamoDB (``/healthz`` stays 200), and an
unexpected exception is a 500 with a body and a logged traceback, never an empty 500.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import time
import uuid
from typing import NamedTuple

from featurestore.errors import (
    FeatureStoreError,
    RequestError,
    StoreUnavailable,
    VersionUnavailable,
)
from featurestore.logs import configure_lambda
from featurestore.lookup import service
from featurestore.lookup.access import HEADER as KEY_HEADER
from featurestore.lookup.access import AccessPolicy, Grant
from featurestore.lookup.routes import (
    ERRORS,
    INTERNAL_ERROR,
    MISCONFIGURED,
    ROUTES,
    UNAVAILABLE,
    VERSION_UNAVAILABLE,
    Router,
)
from featurestore.lookup.serving_log import MODEL_HEADER, ServingLog
from featurestore.lookup.versions import DEFAULT_REFRESH_S, ServedVersions
from featurestore.settings import Settings

log = logging.getLogger("featurestore.lookup")

try:  # orjson encodes a 100-key answer about 5x faster; the stdlib is the fallback (and
    # what the Lambda zip, pure Python, uses): both give the same JSON values
    import orjson

    def encode_json(body: dict) -> str:
        try:
            return orjson.dumps(body).decode()
        except TypeError:  # a lone surrogate echoed in a message: the stdlib escapes it
            return json.dumps(body, separators=(",", ":"))
except ImportError:  # pragma: no cover - depends on the installed extras
    def encode_json(body: dict) -> str:
        return json.dumps(body, separators=(",", ":"))
_JSON = {"content-type": "application/json"}
MAX_MESSAGE = 2000  # characters of an error message; an echoed value may be long
ROUTER = Router(ROUTES)


class Call(NamedTuple):
    """One request, as an operation of the route table gets it."""

    event: dict
    headers: dict  # a dict, its values read through `header()` (text or 400)
    params: dict  # the path template's values: {"entity": "user", "key": "42"}
    grant: Grant | None  # None on routes that are not secured
    request_id: str
    path: str


class LookupApp:
    """One configured endpoint: catalog, reader, cache, access policy, log and metrics."""

    def __init__(self, catalog, reader, *, cache=None, access: AccessPolicy | None = None,
                 serving_log: ServingLog | None = None, metrics=None, built_at: str = "",
                 clock=None, version_refresh_s: float = DEFAULT_REFRESH_S, reload=None):
        from featurestore.lookup.metrics import Metrics

        self.reader = reader
        # the serving pointers of the views, and the catalog (lookup/versions.py);
        # ``reload``: () -> (catalog, built_at), how a local lookup reads its contracts
        # again when a pointer names a version they lack (None in Lambda)
        self.versions = ServedVersions(catalog, reader, version_refresh_s, reload=reload,
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

    @classmethod
    def from_settings(cls, settings: Settings, *, catalog=None, built_at: str = "",
                      serving_log: ServingLog | None | str = "default",
                      access: AccessPolicy | None = None, reload=None) -> LookupApp:
        """The app as ``settings`` configure it (see deploy/README.md for the variables).

        Without ``catalog``, the registry snapshot (bundled in the Lambda zip, or the file
        FEATURESTORE_REGISTRY names) is the catalog. The default serving log is stdout in
        Lambda (CloudWatch) and FEATURESTORE_SERVING_LOG_DIR locally; None logs nothing.
        """
        from featurestore.lookup.cache import TTLCache
        from featurestore.lookup.metrics import Metrics
        from featurestore.lookup.registry_snapshot import load_snapshot
        from featurestore.online.reader import DynamoReader

        lookup_settings = settings.lookup
        if catalog is None:
            catalog, built_at = load_snapshot(lookup_settings.registry)
        reader = DynamoReader.within_deadline(
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
        return cls(catalog, reader, cache=cache, access=access,
                   serving_log=serving_log, metrics=metrics, built_at=built_at,
                   version_refresh_s=lookup_settings.version_refresh_ms / 1000, reload=reload)

    # -- one request ---------------------------------------------------------------------
    def handle(self, event: dict) -> dict:
        started = time.perf_counter()
        request_id = _request_id(event)
        route, outcome, hits_before = "other", None, self._cache_counts()
        unavailable = None  # the view a VersionUnavailable refused
        try:
            method, path, headers = read_event(event)
            found = ROUTER.match(path)  # (Match, path parameters) or None
            if found is not None:  # metrics are labelled by the route template, never by key
                route = found[0].template
            code, body, outcome = self._dispatch(method, path, found, event, headers,
                                                 request_id)
        except RequestError as exc:
            code = exc.status
            body = {"error": ERRORS.get(code, "error"), "message": _message(str(exc))}
        except VersionUnavailable as exc:  # logged once per change by lookup/versions.py
            code, unavailable = exc.status, exc.view
            body = {"error": VERSION_UNAVAILABLE, "message": _message(str(exc)),
                    "details": exc.details()}
        except FeatureStoreError as exc:
            log.error("lookup %s failed: %s", request_id, exc)
            code, body = 500, {"error": INTERNAL_ERROR, "message": _message(str(exc))}
        except Exception:  # the contract is a body on every answer, even this one
            log.exception("lookup %s failed", request_id)
            code, body = 500, {"error": INTERNAL_ERROR,
                               "message": f"unexpected error; see the logs for request "
                                          f"{request_id}"}
        text = body if isinstance(body, str) else encode_json(body)
        hits_after = self._cache_counts()
        self.metrics.observe(
            route, code, time.perf_counter() - started,
            outcome.status_counts if outcome else None,
            bool(outcome and outcome.degraded),
            (hits_after[0] - hits_before[0], hits_after[1] - hits_before[1]),
            outcome.newest_us if outcome else None, unavailable=unavailable)
        return {"statusCode": code, "headers": {**_JSON, "x-request-id": request_id},
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
    def _store_problem(self) -> str | None:
        """Why DynamoDB cannot be read now (one GetItem within the deadline); None if it
        can."""
        ping = getattr(self.reader, "ping", None)  # a test's stand-in store may have none
        if ping is not None:
            try:
                ping()
            except StoreUnavailable as exc:
                return _message(f"the online store cannot be read: {exc}")
        return None

    def _healthz(self, call: Call):
        """Liveness: 200 whatever the store does, its state in the body."""
        problem = self._store_problem()
        store = {"status": "ok"} if problem is None else {"status": UNAVAILABLE,
                                                           "message": problem}
        return 200, {"status": "ok" if problem is None else "degraded",
                     "views": len(self.catalog.views), "registry_built_at": self.built_at,
                     "store": store}, None

    def _readyz(self, call: Call):
        """Readiness: 503 while the store cannot be read."""
        problem = self._store_problem()
        if problem is not None:
            return 503, {"error": UNAVAILABLE, "message": problem}, None
        return 200, {"status": "ready", "views": len(self.catalog.views),
                     "registry_built_at": self.built_at}, None

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
                               f"strings, got {_type(query)}")
        features = query.get("features", query.get("names"))
        shadow = query.get("shadow")
        if shadow is not None and not isinstance(shadow, str):
            raise RequestError(f"the `shadow` query parameter must be text, got {_type(shadow)}")
        snapshot = self._snapshot()
        requests = [service.get_request(
            snapshot.catalog, call.params["entity"], call.params["key"], features,
            snapshot=snapshot, shadow=shadow, key_shadow=call.grant.shadow)]
        return self._lookup(call, requests, single=True)

    def _retrieve_features(self, call: Call):
        snapshot = self._snapshot()
        requests = service.post_requests(snapshot.catalog, _body(call.event),
                                         snapshot=snapshot, key_shadow=call.grant.shadow)
        return self._lookup(call, requests, single=False)

    def _snapshot(self):
        """The serving pointers and catalog this request is answered from (one set per
        request)."""
        self.versions.store = self.reader  # the local app may move to another endpoint
        return self.versions.snapshot()

    def _lookup(self, call: Call, requests: list, single: bool):
        started = time.perf_counter()
        self.access.authorize(call.grant, [p for r in requests for p in (*r.views, *r.shadows)],
                              call.request_id, call.path)
        outcome = service.lookup(requests, self.reader, cache=self.cache,
                                 now=self.clock() if self.clock else None)
        if outcome.degraded:
            log.warning("lookup %s degraded to defaults: %s", call.request_id, outcome.error)
        if self.serving_log is not None:
            self.serving_log.record(call.request_id, header(call.headers, MODEL_HEADER),
                                    requests, outcome,
                                    latency_ms=(time.perf_counter() - started) * 1000)
        return 200, service.response_body(requests, outcome, single), outcome


def read_event(event: object) -> tuple[str, str, dict]:
    """``(METHOD, path, headers)`` of an API Gateway HTTP API (payload 2.0) event; a
    RequestError (400) naming the field when the event does not have that shape."""
    if not isinstance(event, dict):
        raise RequestError("the event is not an API Gateway HTTP API (payload 2.0) event: "
                           f"expected a JSON object, got {_type(event)}")
    context = event.get("requestContext") or {}
    if not isinstance(context, dict):
        raise RequestError(f"the event's `requestContext` must be an object, got "
                           f"{_type(context)}")
    http = context.get("http") or {}
    if not isinstance(http, dict):
        raise RequestError(f"the event's `requestContext.http` must be an object, got "
                           f"{_type(http)}")
    method = http.get("method") or "GET"
    if not isinstance(method, str):
        raise RequestError(f"the event's `requestContext.http.method` must be a string, got "
                           f"{_type(method)}")
    path = event.get("rawPath") or http.get("path") or "/"
    if not isinstance(path, str):
        raise RequestError(f"the event's `rawPath` must be a string, got {_type(path)}")
    stage = context.get("stage")
    if (stage and isinstance(stage, str) and stage != "$default"
            and path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1:]
    headers = event.get("headers") or {}
    if not isinstance(headers, dict):
        raise RequestError(f"the event's `headers` must be an object, got {_type(headers)}")
    return method.upper(), path, headers


def header(headers: dict, name: str) -> str | None:
    """One header's text (API Gateway lower-cases names and joins repeats with commas)."""
    value = headers.get(name)
    if value is None or isinstance(value, str):
        return value
    raise RequestError(f"the `{name}` header must be text, got {_type(value)}")


def _type(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _request_id(event: object) -> str:
    """API Gateway's request id, or a new one when the event has none fit for a header."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    found = context.get("requestId") if isinstance(context, dict) else None
    if isinstance(found, str) and 0 < len(found) <= 200 and found.isascii() and \
            found.isprintable():
        return found
    return uuid.uuid4().hex


def _message(text: str) -> str:
    """An error message fit for the body: at most MAX_MESSAGE characters, and UTF-8 (a
    lone surrogate echoed from the request is written as its escape)."""
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}... (message cut at {MAX_MESSAGE} characters)"
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _body(event: dict) -> bytes | str | None:
    body = event.get("body")
    if body is None:
        return None
    if not isinstance(body, str):
        raise RequestError(f"the event's `body` must be a string, got {_type(body)}")
    if event.get("isBase64Encoded") is True and body:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise RequestError("the request body is not valid base64") from None
    if not body.isascii() and not service._is_utf8(body):
        raise RequestError("the request body is not valid UTF-8 (it holds a lone "
                           "surrogate); send JSON in UTF-8")
    return body


def catalog_document(catalog, built_at: str, grant: Grant | None = None) -> dict:
    """What ``GET /v1/feature-views`` answers: definitions only, never feature values.

    With ``grant``, only what that key may read: its views, and in them the features of
    its sensitivities (a view with none of those is left out), so the catalog tells a key
    nothing a lookup would refuse it.
    """
    from featurestore.durations import format_duration

    views = []
    for name, view in sorted(catalog.views.items()):
        features = view.features
        if grant is not None:
            if grant.views is not None and name not in grant.views:
                continue
            features = [f for f in features if f.sensitivity in grant.sensitivities]
            if not features:
                continue
        views.append({
            "name": name, "version": view.version, "entity": view.entity.name,
            "join_keys": [{"name": k.name, "dtype": k.dtype} for k in view.entity.join_keys],
            "owner": view.owner, "description": view.description,
            "ttl": format_duration(view.ttl_seconds) if view.ttl_seconds else None,
            "freshness_slo": (format_duration(view.freshness_slo_seconds)
                              if view.freshness_slo_seconds else None),
            "tags": list(view.tags),
            "features": [{"name": f.name, "dtype": f.dtype, "sensitivity": f.sensitivity,
                          "default": service.json_value(f.default),
                          "description": f.description} for f in features],
        })
    return {"registry_built_at": built_at, "feature_views": views}


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
        return {"statusCode": 500, "headers": dict(_JSON), "isBase64Encoded": False,
                "body": json.dumps({"error": MISCONFIGURED, "message": _INIT_ERROR})}
    return APP.handle(event)
