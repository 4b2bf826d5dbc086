"""The OpenAPI 3.1 document of the lookup endpoint, served at ``GET /openapi.json``.

Built from ``routes.ROUTES`` (the table the handler dispatches on) and
``schemas.SCHEMAS``, never written by hand, so a route or a shape cannot change in one
place only. It does not depend on the catalog: the same code serves the same document
wherever it runs (the feature names themselves are at ``GET /v1/feature-views``).

Built once per process, on the first request for it, and kept as the JSON text the
handler answers with: the request path never pays for it, and a cold start neither.
"""

from __future__ import annotations

import copy
import json
from functools import cache

from featurestore.lookup.access import HEADER as KEY_HEADER
from featurestore.lookup.routes import MAX_BODY_BYTES, ROUTES, Route
from featurestore.lookup.schemas import SCHEMAS, ref

OPENAPI = "3.1.0"
API_VERSION = "1"  # the /v1 of the feature paths; change both together
SECURITY_SCHEME = "ApiKey"
JSON = "application/json"

# The error statuses: a response of that name under components/responses, and what it means.
ERROR_RESPONSES = {
    400: ("BadRequest", "The request is malformed (a body that is not UTF-8 JSON, a key "
                        "value that does not fit its dtype or DynamoDB's key size) or names "
                        "an unknown entity, view, feature or key column; the message names "
                        "it and the closest known name. Also any route's answer to an event "
                        "that is not a well-formed HTTP API event."),
    401: ("Unauthorized", f"API keys are configured and `{KEY_HEADER}` is missing or matches "
                          "none of them."),
    403: ("Forbidden", "The key may not read a feature asked for (its sensitivity or its "
                       "view is not granted); the message names each one."),
    404: ("NotFound", "No route has this path (the message lists the routes), or no "
                      "feature service has the name asked for (the message lists them)."),
    405: ("MethodNotAllowed", "The path exists but answers another method; the message "
                              "says which."),
    409: ("Conflict", "The feature service cannot be served yet: its transformation "
                      "parameters were never frozen, or its definition changed since; the "
                      "message names the command that fixes it."),
    413: ("PayloadTooLarge", f"The body is over {MAX_BODY_BYTES // 2**20} MB, API Gateway's "
                             "limit. `featurestore serve` answers this body without reading "
                             "the request's; API Gateway refuses it with a body of its own."),
    500: ("InternalError", "An unexpected failure (the message gives the request id to look "
                           "for in the logs), or a misconfigured deployment. DynamoDB being "
                           "down is not one: that is a 200 with defaults and `degraded`."),
    503: ("Unavailable", "The readiness check could not read DynamoDB within the "
                         "lookup's deadline; the message says why. On a feature route "
                         "(`version_unavailable`): the serving pointer of a view asked for "
                         "without `@vN` names a version this lookup was not deployed with, "
                         "or a retired one; `details` names the view, the version served, "
                         "the versions known and the fix. Never another version's values."),
}
DESCRIPTION = (
    "Online feature values from DynamoDB, each with its `feature_ts`, age and a status "
    "(PRESENT, STALE, EXPIRED, DEFAULT, MISSING) that follows the same point-in-time rule "
    "as the training sets. The same handler runs in AWS Lambda behind API Gateway and "
    "locally (`featurestore serve`).\n\n"
    "Every answer is JSON; every refusal has the Error body. Any path not listed here "
    "answers 404, and a listed path asked with another method 405 (components/responses "
    "NotFound and MethodNotAllowed). `featurestore serve` also answers `GET /metrics` "
    "(Prometheus text, for a key granted `internal` on every view), which is not part of "
    "this API, refuses with the Error body what "
    "it cannot read as an HTTP request (a body over the limit, before reading it; a line "
    "too long; a chunked body), and closes connections too slow to send a request."
)


def _operation(route: Route) -> dict:
    operation: dict = {"operationId": route.operation_id, "summary": route.summary,
                       "description": route.description, "tags": [route.tag]}
    if route.params:
        operation["parameters"] = [
            {"name": p.name, "in": p.where, "description": p.description,
             "required": p.required or p.where == "path", "schema": {"type": "string"},
             **({"deprecated": True} if p.deprecated else {}),
             **({"example": p.example} if p.example is not None else {})}
            for p in route.params]
    if route.body:
        media: dict = {"schema": ref(route.body)}
        if route.body_examples:
            media["examples"] = {name: {"value": copy.deepcopy(value)}
                                 for name, value in route.body_examples}
        operation["requestBody"] = {"required": True, "content": {JSON: media}}
    responses: dict = {"200": {"description": route.summary,
                               "headers": {"x-request-id": {"$ref": "#/components/headers/"
                                                                    "RequestId"}},
                               "content": {JSON: {"schema": ref(route.ok)}}}}
    for status in route.errors:
        responses[str(status)] = {"$ref": f"#/components/responses/"
                                          f"{ERROR_RESPONSES[status][0]}"}
    operation["responses"] = responses
    if route.secured:
        operation["security"] = [{SECURITY_SCHEME: []}]
    return operation


def build_document() -> dict:
    """A fresh document (a dict the caller may change)."""
    paths: dict[str, dict] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    request_id = {"$ref": "#/components/headers/RequestId"}
    return {
        "openapi": OPENAPI,
        "info": {"title": "featurestore lookup", "version": API_VERSION,
                 "description": DESCRIPTION,
                 "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "tags": [{"name": "features", "description": "Feature values and definitions."},
                 {"name": "services", "description": "Feature services: model-ready "
                                                     "vectors with frozen transformations."},
                 {"name": "operations", "description": "Liveness, readiness and this document."}],
        "paths": paths,
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "responses": {
                name: {"description": text, "headers": {"x-request-id": request_id},
                       "content": {JSON: {"schema": ref("Error")}}}
                for name, text in ERROR_RESPONSES.values()},
            "headers": {"RequestId": {
                "description": "The request's id (API Gateway's, or a new one), also in "
                               "the logs and the serving log.",
                "schema": {"type": "string"}}},
            "securitySchemes": {SECURITY_SCHEME: {
                "type": "apiKey", "in": "header", "name": KEY_HEADER,
                "description": "A key whose SHA-256 is configured (FEATURESTORE_API_KEYS; "
                               "`featurestore keys create` makes one), granted some "
                               "sensitivities (public, internal, pii) and views. Only with "
                               "anonymous access turned on (FEATURESTORE_ALLOW_ANONYMOUS, "
                               "or `featurestore serve` on loopback without keys) does a "
                               "request without a key read, and then public and internal "
                               "features only."}},
        },
    }


@cache
def document_text() -> str:
    """The document as the JSON text ``GET /openapi.json`` answers, built on first use."""
    return json.dumps(build_document(), separators=(",", ":"))
