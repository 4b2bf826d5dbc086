"""JSON Schemas of what the lookup endpoint reads and answers, for its OpenAPI document.

Draft 2020-12, the dialect of OpenAPI 3.1, so a client can validate with any JSON Schema
library. The enumerations come from the code that produces the values (the statuses
from ``service``, dtypes and sensitivities from the contracts, the error names from
``routes``, the key limit from ``service.MAX_KEYS``); the tests validate real answers of
the handler against these schemas, so a shape that changes in ``service`` or ``handler``
without changing here fails them.

Schemas refer to each other as ``#/components/schemas/<name>``, where the document puts
them.
"""

from __future__ import annotations

from featurestore.contracts import SENSITIVITIES
from featurestore.dtypes import DTYPES, KEY_DTYPES
from featurestore.lookup.routes import (
    ERRORS,
    INTERNAL_ERROR,
    MISCONFIGURED,
    SERVER_ERRORS,
    VERSION_UNAVAILABLE,
)
from featurestore.lookup.service import MAX_KEYS
from featurestore.lookup.status import STATUSES


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, required: tuple[str, ...] = (), description: str = "",
            **extra) -> dict:
    schema = {"type": "object", "properties": properties,
              "required": list(required or properties), "additionalProperties": False}
    if description:
        schema["description"] = description
    return {**schema, **extra}


NULLABLE_TEXT = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time",
             "description": "ISO-8601 in UTC with `Z`; a fraction only when there is one."}
# What a feature value is, by dtype: int64 and float64 are numbers, a timestamp is an
# ISO string, and any of them may be null.
VALUE = {"type": ["integer", "number", "string", "boolean", "null"],
         "description": f"The value in JSON, by the feature's dtype ({', '.join(DTYPES)}); "
                        "a timestamp is an ISO-8601 UTC string."}

SCHEMAS: dict[str, dict] = {
    "Error": _object(
        {"error": {"type": "string",
                   "enum": [*ERRORS.values(), INTERNAL_ERROR, MISCONFIGURED,
                            VERSION_UNAVAILABLE, *SERVER_ERRORS.values()],
                   "description": "Machine-readable: the status's name, or "
                                  f"`{VERSION_UNAVAILABLE}` for a 503 of a feature route. "
                                  "The names of 411, 414, 431, 501 and 505 come only from "
                                  "`featurestore serve`, for a request it cannot read as "
                                  "HTTP."},
         "message": {"type": "string",
                     "description": "What is wrong, naming the entity, view, feature or "
                                    "field, with the closest known name."},
         "details": _object(
             {"view": {"type": "string"},
              "served_version": {"type": "integer", "minimum": 1},
              "known_versions": {"type": "array", "items": {"type": "integer"}},
              "fix": {"type": "string"}},
             description=f"Only with `{VERSION_UNAVAILABLE}`: the view, the version its "
                         "serving pointer serves, the versions this lookup knows, and what "
                         "to do.")},
        required=("error", "message"),
        description="Every refusal and every failure has this body, never an empty one."),
    "Health": _object(
        {"status": {"type": "string", "enum": ["ok", "degraded"],
                    "description": "ok: the store answered too. degraded: the process "
                                   "serves, with defaults (`degraded: true`), because the "
                                   "store did not answer."},
         "views": {"type": "integer", "minimum": 0,
                   "description": "Feature views in the registry snapshot."},
         "registry_built_at": {"type": "string",
                               "description": "When the registry snapshot was built."},
         "store": ref("StoreState")},
        description="Liveness: always 200 while the process serves, so a load balancer "
                    "never takes every instance out when DynamoDB is down."),
    "StoreState": _object(
        {"status": {"type": "string", "enum": ["ok", "unavailable"]},
         "message": {"type": "string", "description": "Why the store could not be read."}},
        required=("status",),
        description="Whether DynamoDB answered one GetItem within the lookup's deadline."),
    "Ready": _object(
        {"status": {"const": "ready"},
         "views": {"type": "integer", "minimum": 0},
         "registry_built_at": {"type": "string"}},
        description="Readiness: DynamoDB answered; 503 with the Error body when not."),
    "JoinKey": _object({"name": {"type": "string"},
                        "dtype": {"type": "string", "enum": list(KEY_DTYPES)}}),
    "FeatureDefinition": _object(
        {"name": {"type": "string"},
         "dtype": {"type": "string", "enum": list(DTYPES)},
         "sensitivity": {"type": "string", "enum": list(SENSITIVITIES)},
         "default": {**VALUE, "description": "Served when there is no fresh value (DEFAULT, "
                                             "EXPIRED); null when the contract names none."},
         "description": {"type": "string"}}),
    "FeatureViewDefinition": _object(
        {"name": {"type": "string"},
         "version": {"type": "integer", "minimum": 1},
         "entity": {"type": "string"},
         "join_keys": {"type": "array", "items": ref("JoinKey")},
         "owner": {"type": "string"},
         "description": {"type": "string"},
         "ttl": {**NULLABLE_TEXT, "description": "Past it a value is EXPIRED (`30d`)."},
         "freshness_slo": {**NULLABLE_TEXT, "description": "Past it a value is STALE (`1h`)."},
         "tags": {"type": "array", "items": {"type": "string"}},
         "features": {"type": "array", "items": ref("FeatureDefinition")}}),
    "RequestFieldDefinition": _object(
        {"name": {"type": "string"},
         "dtype": {"type": "string", "enum": list(DTYPES)},
         "nullable": {"type": "boolean"},
         "description": {"type": "string"}},
        description="A value sent with each request: `request.<name>` (GET) or the "
                    "`request` object (POST)."),
    "OnDemandInputDefinition": _object(
        {"name": {"type": "string", "description": "Its name in the expressions."},
         "feature": {"type": "string", "description": "`view[@vN]:feature`"},
         "dtype": {"type": "string", "enum": list(DTYPES)}}),
    "OnDemandFeatureDefinition": _object(
        {"name": {"type": "string"},
         "dtype": {"type": "string", "enum": list(DTYPES)},
         "sql": {"type": "string", "description": "The expression (docs/request-time.md)."},
         "sensitivity": {"type": "string", "enum": list(SENSITIVITIES)},
         "description": {"type": "string"}}),
    "OnDemandViewDefinition": _object(
        {"name": {"type": "string"},
         "kind": {"type": "string", "enum": ["on_demand"]},
         "version": {"type": "integer", "minimum": 1},
         "entity": {"type": "string"},
         "join_keys": {"type": "array", "items": ref("JoinKey")},
         "owner": {"type": "string"},
         "description": {"type": "string"},
         "tags": {"type": "array", "items": {"type": "string"}},
         "request": {"type": "array", "items": ref("RequestFieldDefinition")},
         "inputs": {"type": "array", "items": ref("OnDemandInputDefinition")},
         "features": {"type": "array", "items": ref("OnDemandFeatureDefinition")}}),
    "FeatureViews": _object(
        {"registry_built_at": {"type": "string"},
         "feature_views": {"type": "array", "items": ref("FeatureViewDefinition")},
         "on_demand_views": {"type": "array", "items": ref("OnDemandViewDefinition"),
                             "description": "Computed per request from request fields "
                                            "and stored features; sorted by name."}},
        description="The catalog, sorted by view name."),
    "Key": {"type": "object", "minProperties": 1,
            "additionalProperties": {"type": ["integer", "string"]},
            "description": "One key: its join-key columns and values (`{\"user_id\": 42}`); "
                           "int64 columns as JSON integers (a string of digits is accepted)."},
    "FeatureValue": _object(
        {"value": VALUE,
         "feature_ts": {**TIMESTAMP, "type": ["string", "null"],
                        "description": "When the stored value became true; null when none "
                                       "was read (DEFAULT, MISSING)."},
         "age_seconds": {"type": "integer",
                         "description": "now - feature_ts, floored to whole seconds; only "
                                        "with a feature_ts (negative if it is ahead)."},
         "status": {"type": "string", "enum": list(STATUSES), "description": (
             "PRESENT: fresh. STALE: older than the view's freshness SLO, value served. "
             "EXPIRED: older than its ttl, the default served (as training saw it). "
             "DEFAULT: nothing stored, or DynamoDB did not answer, the default served. "
             "MISSING: nothing stored and no default (null). An on-demand feature has the "
             "worst status of the stored features its expression reads (in this order: "
             "PRESENT, STALE, EXPIRED, DEFAULT, MISSING; PRESENT when it reads none), and "
             "the `feature_ts` and `age_seconds` of the oldest of them.")}},
        required=("value", "feature_ts", "status")),
    "FeatureVectorRow": _object(
        {"key": ref("Key"),
         "features": {"type": "object", "additionalProperties": ref("FeatureValue"),
                      "description": "By `view:feature` name, in the order asked."}}),
    "FeatureVector": _object(
        {"entity": {"type": "string"},
         "results": {"type": "array", "minItems": 1, "maxItems": 1,
                     "items": ref("FeatureVectorRow")},
         "degraded": {"type": "boolean", "description": "DynamoDB did not answer in time: "
                                                        "defaults were served."}},
        description="The answer of GET /v1/features/{entity}/{key}."),
    "EntityRequest": _object(
        {"entity": {"type": "string"},
         "keys": {"type": "array", "minItems": 1, "maxItems": MAX_KEYS, "items": ref("Key")},
         "features": {"anyOf": [
             {"type": "array", "minItems": 1, "items": {"type": "string"}},
             {"type": "string", "description": "comma-separated"}],
             "description": "`view:feature` names, or view names for all their features."},
         "shadow": {"anyOf": [{"type": "array", "items": {"type": "string"}},
                              {"type": "string"}],
                    "description": "Other versions (`view@v2`) read beside the features "
                                   "asked, answered only to the serving log."},
         "request": {"anyOf": [ref("RequestFields"),
                               {"type": "array", "items": ref("RequestFields")}],
                     "description": "The request fields of the on-demand features asked: "
                                    "one object for every key, or a list of one object per "
                                    "key, in the keys' order."}},
        required=("entity", "keys", "features"),
        description="One entity's keys and the features to read for each."),
    "RequestFields": {
        "type": "object",
        "additionalProperties": {"type": ["integer", "number", "string", "boolean", "null"]},
        "description": "Request field -> value, by the field's declared dtype: an int64 a "
                       "JSON integer, a float64 a number, a bool true or false, a string "
                       "text, a timestamp an ISO-8601 string (naive is UTC). A field left "
                       "out or null is null; a field declared `nullable: false`, a value "
                       "that does not fit its dtype or a field that no asked on-demand "
                       "feature reads is a 400 naming it."},
    "RetrieveRequest": {
        "oneOf": [ref("EntityRequest"), _object(
            {"requests": {"type": "array", "minItems": 1, "items": ref("EntityRequest")}},
            description="Several entities at once.")],
        "description": f"At most {MAX_KEYS} keys over the whole body (one DynamoDB "
                       "BatchGetItem)."},
    "RetrieveRow": _object(
        {"entity": {"type": "string"}, "key": ref("Key"),
         "features": {"type": "object", "additionalProperties": ref("FeatureValue")}}),
    "RetrieveResponse": _object(
        {"results": {"type": "array", "items": ref("RetrieveRow"),
                     "description": "One per key, in request order (requests, then keys)."},
         "degraded": {"type": "boolean"}},
        description="The answer of POST /v1/features/retrieve."),
    "ServiceRetrieveRequest": _object(
        {"keys": {"type": "array", "minItems": 1, "maxItems": MAX_KEYS, "items": ref("Key")},
         "request": {"anyOf": [ref("RequestFields"),
                               {"type": "array", "items": ref("RequestFields")}],
                     "description": "The request fields of the service's on-demand "
                                    "features: one object for every key, or a list of one "
                                    "object per key, in the keys' order."}},
        required=("keys",), description="Keys of the service's entity."),
    "ServiceVectorRow": _object(
        {"key": ref("Key"),
         "vector": {"type": "array", "items": VALUE,
                    "description": "The values of `columns`, in order: raw, then "
                                   "transformed."},
         "features": {"type": "object", "additionalProperties": ref("FeatureValue"),
                      "description": "Each raw value's answer, by `view:feature`, in the "
                                     "service's order."}}),
    "ServiceVector": _object(
        {"service": {"type": "string"},
         "service_version": {"type": "integer", "minimum": 1},
         "parameters_version": {"type": "integer", "minimum": 1,
                                "description": "The frozen parameter set served."},
         "parameters_sha256": {"type": "string", "description": "Its hash, as the training "
                                                                "set's manifest records it."},
         "entity": {"type": "string"},
         "columns": {"type": "array", "items": {"type": "string"},
                     "description": "The training set's column names of the vector."},
         "results": {"type": "array", "items": ref("ServiceVectorRow"),
                     "description": "One per key, in request order."},
         "degraded": {"type": "boolean"},
         "region": {**NULLABLE_TEXT, "description": "With a table in two regions only."}},
        required=("service", "service_version", "parameters_version", "parameters_sha256",
                  "entity", "columns", "results", "degraded"),
        description="A feature service's model-ready vectors."),
    "OpenAPIDocument": {"type": "object", "required": ["openapi", "info", "paths"],
                        "properties": {"openapi": {"type": "string", "pattern": r"^3\.1\."}},
                        "description": "An OpenAPI 3.1 document (this one)."},
}
