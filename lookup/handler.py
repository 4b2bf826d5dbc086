"""The Lambda handler for API Gateway HTTP API (payload v2) events; served locally too.

Routes (``routes.ROUTES``, the one table this module dispatches on and ``openapi.py``
describes at ``GET /openapi.json``)::

    GET  /healthz                              liveness and the registry snapshot's age
    GET  /v1/feature-views                     the catalog: names, dtypes, owners, SLOs
    GET  /v1/features/{entity}/{key}?features=view:feature,...
    POST /v1/features/retrieve                 up to 100 keys, several entities at once
    GET  /openapi.json                         the OpenAPI 3.1 document of all of these

Everything slow happens once per container, at module level: the registry snapshot is
read (no YAML, no warehouse), the DynamoDB client is made with tight timeouts and a
single attempt (``reads.DynamoReader`` retries within the deadline instead). The handler
only parses the event and calls ``service.lookup``. A routing table of five entries
needs no framework, which keeps the cold start to our own modules and botocore.

Every answer has a JSON body: 400/401/403/404/405 say what is wrong, an unexpected
exception is a 500 with a body and a logged traceback, never an empty 500.
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

from featurestore.errors import FeatureStoreError, RequestError
from featurestore.lookup import service
from featurestore.lookup.access import HEADER as KEY_HEADER
from featurestore.lookup.access import AccessPolicy, Grant
from featurestore.lookup.routes import ERRORS, INTERNAL_ERROR, MISCONFIGURED, ROUTES, Router
from featurestore.lookup.serving_log import MODEL_HEADER, ServingLog
from featurestore.settings import Settings

log = logging.getLogger("featurestore.lookup")

try:  # orjson encodes a 100-key answer about 5x faster; the stdlib is the fallback (and
    # what the Lambda zip, pure Python, uses): both give the same JSON values
    import orjson

    def encode_json(body: dict) -> str:
        return orjson.dumps(body).decode()
except ImportError:  # pragma: no cover - depends on the installed extras
    def encode_json(body: dict) -> str:
        return json.dumps(body, separators=(",", ":"))
_JSON = {"content-type": "application/json"}
ROUTER = Router(ROUTES)


class Call(NamedTuple):
    """One request, as an operation of the route table gets it."""

    event: dict
    headers: dict
    params: dict  # the path template's values: {"entity": "user", "key": "42"}
    grant: Grant | None  # None on routes that are not secured
    request_id: str
    path: str


class LookupApp:
    """One configured endpoint: catalog, reader, cache, access policy, log and metrics."""

    def __init__(self, catalog, reader, *, cache=None, access: AccessPolicy | None = None,
                 serving_log: ServingLog | None = None, metrics=None, built_at: str = "",
                 clock=None):
        from featurestore.lookup.metrics import Metrics

        self.catalog = catalog
        self.reader = reader
        self.cache = cache
        self.access = access or AccessPolicy(None)
        self.serving_log = serving_log
        self.metrics = metrics or Metrics()
        self.built_at = built_at
        self.clock = clock  # None: the real time; tests fix it to get exact ages
        self._catalog_body = json.dumps(catalog_document(catalog, built_at),
                                        separators=(",", ":"))
        # operation id -> the method answering it: a route without one fails here, at
        # start-up, not on its first request
        self._operations = {route.operation_id: getattr(self, f"_{route.operation_id}")
                            for route in ROUTES}

    @classmethod
    def from_settings(cls, settings: Settings, *, catalog=None, built_at: str = "",
                      serving_log: ServingLog | None | str = "default",
                      access: AccessPolicy | None = None) -> LookupApp:
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
            serving_log = (ServingLog(sample_rate=sample, stream=sys.stdout)
                           if settings.in_lambda or settings.serving_log_dir is None else
                           ServingLog(sample_rate=sample, folder=settings.serving_log_dir))
        metrics = Metrics(emf_stream=sys.stdout if settings.in_lambda else None)
        return cls(catalog, reader, cache=cache,
                   access=access or AccessPolicy.from_settings(lookup_settings),
                   serving_log=serving_log, metrics=metrics, built_at=built_at)

    # -- one request ---------------------------------------------------------------------
    def handle(self, event: dict) -> dict:
        started = time.perf_counter()
        context = event.get("requestContext") or {}
        request_id = context.get("requestId") or uuid.uuid4().hex
        method = (context.get("http") or {}).get("method", "GET").upper()
        path = _path(event, context)
        found = ROUTER.match(path)  # (Match, path parameters) or None
        # metrics are labelled by the route template, never by key ("other": no route)
        route = found[0].template if found is not None else "other"
        outcome, hits_before = None, self._cache_counts()
        try:
            code, body, outcome = self._dispatch(method, path, found, event, request_id)
        except RequestError as exc:
            code = exc.status
            body = {"error": ERRORS.get(code, "error"), "message": str(exc)}
        except FeatureStoreError as exc:
            log.error("lookup %s failed: %s", request_id, exc)
            code, body = 500, {"error": INTERNAL_ERROR, "message": str(exc)}
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
            (hits_after[0] - hits_before[0], hits_after[1] - hits_before[1]))
        return {"statusCode": code, "headers": {**_JSON, "x-request-id": request_id},
                "body": text, "isBase64Encoded": False}

    def _cache_counts(self) -> tuple[int, int]:
        return (self.cache.hits, self.cache.misses) if self.cache is not None else (0, 0)

    def _dispatch(self, method: str, path: str, found, event: dict, request_id: str):
        """``(status, body, outcome)`` of the route ``found`` for ``method``: 404 and 405
        from the table, the API key checked where the route is ``secured``."""
        if found is None:
            raise RequestError(f"no route {method} {path}; routes: {ROUTER.listing}",
                               status=404)
        match, params = found
        route = match.methods.get(method)
        if route is None:
            raise RequestError(f"{path} answers {match.allowed}, not {method}", status=405)
        headers = event.get("headers") or {}
        grant = (self.access.authenticate(headers.get(KEY_HEADER), request_id, path)
                 if route.secured else None)
        return self._operations[route.operation_id](
            Call(event, headers, params, grant, request_id, path))

    # -- the operations of routes.ROUTES, by operation id: (status, body, outcome) ---------
    def _healthz(self, call: Call):
        return 200, {"status": "ok", "views": len(self.catalog.views),
                     "registry_built_at": self.built_at}, None

    def _list_feature_views(self, call: Call):
        return 200, self._catalog_body, None

    def _openapi_document(self, call: Call):
        from featurestore.lookup.openapi import document_text  # built on first use

        return 200, document_text(), None

    def _get_features(self, call: Call):
        query = call.event.get("queryStringParameters") or {}
        features = query.get("features", query.get("names"))
        requests = [service.get_request(self.catalog, call.params["entity"],
                                        call.params["key"], features)]
        return self._lookup(call, requests, single=True)

    def _retrieve_features(self, call: Call):
        requests = service.post_requests(self.catalog, _body(call.event))
        return self._lookup(call, requests, single=False)

    def _lookup(self, call: Call, requests: list, single: bool):
        self.access.authorize(call.grant, [p for r in requests for p in r.views],
                              call.request_id, call.path)
        outcome = service.lookup(requests, self.reader, cache=self.cache,
                                 now=self.clock() if self.clock else None)
        if outcome.degraded:
            log.warning("lookup %s degraded to defaults: %s", call.request_id, outcome.error)
        if self.serving_log is not None:
            self.serving_log.record(call.request_id, call.headers.get(MODEL_HEADER), requests,
                                    outcome)
        return 200, service.response_body(requests, outcome, single), outcome


def _path(event: dict, context: dict) -> str:
    path = event.get("rawPath") or (context.get("http") or {}).get("path") or "/"
    stage = context.get("stage")
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1:]
    return path


def _body(event: dict) -> bytes | str | None:
    body = event.get("body")
    if body and event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError:
            raise RequestError("the request body is not valid base64") from None
    return body


def catalog_document(catalog, built_at: str) -> dict:
    """What ``GET /v1/feature-views`` answers: definitions only, never feature values."""
    from featurestore.durations import format_duration

    views = []
    for name, view in sorted(catalog.views.items()):
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
                          "description": f.description} for f in view.features],
        })
    return {"registry_built_at": built_at, "feature_views": views}


APP: LookupApp | None = None
_INIT_ERROR: str | None = None


def _init() -> None:
    global APP, _INIT_ERROR
    try:
        APP = LookupApp.from_settings(Settings.from_env())
    except FeatureStoreError as exc:  # answered (with this message) by every request
        _INIT_ERROR = str(exc)
        log.error("lookup handler is misconfigured: %s", exc)
        return
    freeze_startup_objects()


def freeze_startup_objects() -> None:
    """Move what start-up built (botocore's models, the catalog: alive as long as the
    process) out of the garbage collector's sight, so a collection during a request no
    longer rescans it: fewer millisecond pauses in the latency tail."""
    import gc

    gc.collect()
    gc.freeze()


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
