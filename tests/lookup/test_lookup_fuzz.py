"""Any event the Lambda handler can receive gets a 2xx or a JSON 4xx, never a 500.

A property test (hypothesis) throws events at ``LookupApp.handle``: any path, query,
headers and body, plausible requests with hostile values (keys of every JSON type, texts
that are not digits, keys longer than DynamoDB holds, lone surrogates, base64 that is not
UTF-8) and odd types in the event itself (None, numbers, lists where objects belong).
Every answer must be JSON that the OpenAPI document allows for it, and the store is
DynamoDB Local itself, which refuses what DynamoDB would refuse: a request that reaches
it must be one DynamoDB accepts, so a bad request can never degrade.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from featurestore.lookup import openapi
from featurestore.lookup.access import AccessPolicy, hash_key
from featurestore.lookup.handler import ROUTER, LookupApp, read_event
from featurestore.lookup.routes import ERRORS, ROUTES
from tests.lookup.lookup_testkit import call, make_app
from tests.lookup.test_openapi import validator
from tests.online_stores import FaultyStore, store_for

F = "user_transactions:txn_count_7d"
KEY = "s3cret-fraud"
KEYS = json.dumps({"keys": [{"name": "fraud-model", "sha256": hash_key(KEY),
                             "sensitivities": ["public", "internal"], "views": ["*"]}]})
SPEC = json.loads(openapi.document_text())
OPERATIONS = {(route.method, route.path): route for route in ROUTES}


@pytest.fixture(scope="module")
def apps(catalog, dynamodb_local):
    """An anonymous endpoint and one with API keys, over the real store of an empty
    DynamoDB Local table, counting the reads that reach it: DynamoDB refuses a read it
    cannot serve (a duplicate key, a partition key over 2,048 bytes), which would
    degrade the answer, so a bad request that got through to the store fails the test."""
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig

    client = OnlineConfig(endpoint=dynamodb_local).client()
    ensure_table(client, "fs_fuzz", ttl=False)
    yield (LookupApp(catalog, FaultyStore(store_for(client, "fs_fuzz")), serving_log=None),
           LookupApp(catalog, FaultyStore(store_for(client, "fs_fuzz")), serving_log=None,
                     access=AccessPolicy.from_config(KEYS, "keys")))
    client.delete_table(TableName="fs_fuzz")


# -- what events are made of ---------------------------------------------------------------
# Mostly plausible requests with hostile values; then, now and then, one part of the event
# replaced by a value of an odd type; and some events that are not objects at all.
ODD = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                st.text(max_size=5), st.lists(st.integers(), max_size=2),
                st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
TEXT = st.text(max_size=30)  # any code point, lone surrogates included
HUGE = st.integers(min_value=1, max_value=3000).map(lambda n: "é" * n)
NASTY = st.sampled_from(["42", " 7 ", "-0", "--5", "²", "٤٢", "1e3", "0x10", "", "|", "%",
                         "%7C", "42|d-1", "42|", "\ud800", "9" * 30, "-" + "9" * 19])
INT = st.integers(-(2**63), 2**63 - 1)
KEY_TEXT = st.one_of(INT.map(str), INT.map(str), NASTY, TEXT, HUGE,
                     st.tuples(INT, TEXT).map(lambda p: f"{p[0]}|{p[1]}"))
ENTITIES = ("user", "merchant", "user_device")
ENTITY = st.one_of(st.sampled_from(ENTITIES), st.sampled_from(ENTITIES), TEXT)
REF_NAMES = [F, "user_profile", "user_profile:email_domain", "user_profile:country",
             "merchant_risk", "device_seen_before", "user_transactions", "user_transactions:x",
             "nope", ":", "", "\ud800"]
REFS = st.one_of(st.lists(st.sampled_from(REF_NAMES), min_size=1, max_size=4).map(",".join),
                 TEXT)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
              st.floats(allow_nan=False), TEXT, KEY_TEXT),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6)
KEY_VALUE = st.one_of(INT, INT, KEY_TEXT, JSON_VALUE)
KEY_OBJECT = st.one_of(
    st.fixed_dictionaries({"user_id": KEY_VALUE}),
    st.fixed_dictionaries({"merchant_id": KEY_VALUE}),
    st.fixed_dictionaries({"user_id": KEY_VALUE, "device_id": KEY_VALUE}),
    st.fixed_dictionaries({}, optional={"user_id": KEY_VALUE, "device_id": KEY_VALUE,
                                        "merchant_id": KEY_VALUE, "x": JSON_VALUE}),
    JSON_VALUE)
ENTITY_REQUEST = st.one_of(
    st.fixed_dictionaries({"entity": ENTITY, "keys": st.lists(KEY_OBJECT, min_size=1,
                                                              max_size=8),
                           "features": st.one_of(REFS, st.lists(REFS, max_size=3))}),
    st.fixed_dictionaries({}, optional={
        "entity": st.one_of(ENTITY, JSON_VALUE),
        "keys": st.one_of(st.lists(KEY_OBJECT, max_size=4), JSON_VALUE),
        "features": st.one_of(REFS, st.lists(REFS, max_size=3), JSON_VALUE),
        "at": JSON_VALUE}))
DOCUMENT = st.one_of(
    ENTITY_REQUEST, ENTITY_REQUEST,
    st.fixed_dictionaries({"requests": st.one_of(st.lists(ENTITY_REQUEST, max_size=3),
                                                 JSON_VALUE)}),
    JSON_VALUE)
POST_BODY = st.one_of(DOCUMENT.map(json.dumps), DOCUMENT.map(json.dumps), TEXT, st.none(),
                      st.sampled_from(["{", "[" * 5000, "{}", "null", "\ud800"]))
METHOD = st.one_of(st.sampled_from(["GET", "POST", "get", "PUT", "DELETE", "HEAD",
                                    "OPTIONS"]), TEXT)
QUERY = st.one_of(st.fixed_dictionaries({"features": REFS}),
                  st.fixed_dictionaries({}, optional={"features": REFS, "names": REFS,
                                                      "x": TEXT}),
                  st.none())


# the views of each entity, whole or by feature: what a well-formed request asks for
OWN_REFS = {"user": ["user_transactions", F, "user_profile:country", "user_profile",
                     "user_profile:email_domain"],
            "merchant": ["merchant_risk", "merchant_risk:txn_count_7d"],
            "user_device": ["device_seen_before", "device_seen_before:device_txn_count"]}
KEY_NAMES = {"user": ["user_id"], "merchant": ["merchant_id"],
             "user_device": ["user_id", "device_id"]}


@st.composite
def coherent(draw) -> tuple[str, list, str]:
    """An entity, its keys (values hostile now and then) and features of its views."""
    entity = draw(st.sampled_from(ENTITIES))
    keys = draw(st.lists(st.fixed_dictionaries(
        {name: st.one_of(INT, INT, INT, KEY_VALUE) if name != "device_id" else st.one_of(
            TEXT, TEXT, KEY_VALUE) for name in KEY_NAMES[entity]}), min_size=1, max_size=8))
    refs = draw(st.lists(st.sampled_from(OWN_REFS[entity]), min_size=1, max_size=3))
    return entity, keys, ",".join(refs)


@st.composite
def requests(draw) -> tuple[str, str, dict | None, str | None]:
    """``(method, path, query, body)`` of a plausible request, with hostile values."""
    kind = draw(st.sampled_from(["get", "post", "get_any", "post_any", "other"]))
    if kind == "get":
        entity, keys, refs = draw(coherent())
        text = "|".join(str(value) for value in keys[0].values())
        return "GET", f"/v1/features/{entity}/{text}", {"features": refs}, None
    if kind == "post":
        entity, keys, refs = draw(coherent())
        body = {"entity": entity, "keys": keys, "features": draw(st.sampled_from(
            [refs, refs.split(",")]))}
        if draw(st.booleans()):
            body = {"requests": [body, {"entity": "merchant", "keys": [{"merchant_id": 7}],
                                        "features": ["merchant_risk"]}]}
        return "POST", "/v1/features/retrieve", None, json.dumps(body)
    if kind == "get_any":
        path = f"/v1/features/{draw(ENTITY)}/{draw(KEY_TEXT)}"
        return "GET", path, draw(QUERY), None
    if kind == "post_any":
        return "POST", "/v1/features/retrieve", None, draw(POST_BODY)
    path = draw(st.one_of(st.sampled_from(
        ["/healthz", "/v1/feature-views", "/openapi.json", "/v1/features/retrieve", "/",
         "/metrics", "/v1/features/user", "//v1//features", "/v1/features/user/1/x"]),
        TEXT.map(lambda t: "/" + t)))
    return draw(METHOD), path, draw(QUERY), draw(st.one_of(st.none(), POST_BODY))


# where an odd value may replace a part of the event
PARTS = ("requestContext", "http", "method", "rawPath", "headers", "x-api-key",
         "x-model-name", "queryStringParameters", "features", "body", "isBase64Encoded",
         "requestId", "stage", "event")


@st.composite
def events(draw):
    method, path, query, body = draw(requests())
    headers = draw(st.fixed_dictionaries({}, optional={
        "x-api-key": st.one_of(st.just(KEY), st.just(KEY), TEXT), "x-model-name": TEXT}))
    event = {"version": "2.0", "rawPath": path, "headers": headers,
             "queryStringParameters": query, "body": body, "isBase64Encoded": False,
             "requestContext": {"http": {"method": method, "path": path},
                                "requestId": draw(st.one_of(st.just("r-1"), TEXT)),
                                "stage": draw(st.sampled_from(["$default", "prod"]))}}
    if body is not None and draw(st.integers(0, 3)) == 3:  # base64, as for binary bodies
        raw = draw(st.one_of(st.just(body.encode("utf-8", "surrogatepass")),
                             st.binary(max_size=40)))
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    if draw(st.integers(0, 4)) == 4:  # one part of an odd type
        part, odd = draw(st.sampled_from(PARTS)), draw(ODD)
        if part == "event":
            return odd
        holder = {"http": event["requestContext"], "method": event["requestContext"]["http"],
                  "requestId": event["requestContext"], "stage": event["requestContext"],
                  "x-api-key": headers, "x-model-name": headers,
                  "features": query if query is not None else {}}.get(part, event)
        holder[part] = odd
    return event


EVENTS = events()


# -- what every answer must be ---------------------------------------------------------------
def documented_statuses(event) -> tuple[str | None, set[int]]:
    """The operation the event reaches, and the statuses the document gives it."""
    try:
        method, path, _ = read_event(event)
    except Exception:
        return None, {400}  # not an HTTP API event: a 400 on any path
    found = ROUTER.match(path)
    if found is None:
        return None, {400, 404}
    route = found[0].methods.get(method)
    if route is None:
        return found[0].template, {400, 405}
    return route.path, {200, *route.errors}


def check(app: LookupApp, event) -> dict:
    reads_before = app.store.reads
    answer = app.handle(event)  # never raises: that is the first property
    assert set(answer) == {"statusCode", "headers", "body", "isBase64Encoded"}
    code = answer["statusCode"]
    assert code != 500, answer["body"]
    assert answer["headers"]["content-type"] == "application/json"
    request_id = answer["headers"]["x-request-id"]
    assert isinstance(request_id, str) and request_id.isprintable() and request_id.isascii()
    answer["body"].encode("utf-8")  # text a client can read
    body = json.loads(answer["body"])
    template, allowed = documented_statuses(event)
    assert code in allowed, (code, template, body)
    if code == 200:
        method = read_event(event)[0]
        schema = SPEC["paths"][template][method.lower()]["responses"]["200"]["content"][
            "application/json"]["schema"]
        assert not body.get("degraded"), "a bad request degraded"
    else:
        schema = SPEC["components"]["schemas"]["Error"]
        assert body["error"] == ERRORS[code]
        assert body["message"] and len(body["message"]) < 2100
        assert app.store.reads == reads_before, "a refused request read DynamoDB"
    errors = list(validator(SPEC, schema).iter_errors(body))
    assert not errors, (code, body, errors[0].message)
    return body


PROPERTY = settings(max_examples=400, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(event=EVENTS, locked=st.booleans())
# what answered 500 or raised before (issue 10, item 4)
@example(event=None, locked=False)
@example(event=[], locked=False)
@example(event={"requestContext": {"http": {"method": 5}}}, locked=False)
@example(event={"rawPath": 5}, locked=False)
@example(event={"rawPath": "/v1/feature-views", "headers": [1]}, locked=False)
@example(event={"rawPath": "/v1/feature-views", "headers": {"x-api-key": 5}}, locked=True)
@example(event={"rawPath": "/v1/features/user/1", "queryStringParameters": [1]}, locked=False)
@example(event={"rawPath": "/v1/features/user/²", "queryStringParameters": {"features": F}},
         locked=False)
@example(event={"rawPath": "/v1/features/user/--5", "queryStringParameters": {"features": F}},
         locked=False)
@example(event={"rawPath": "/v1/features/retrieve", "requestContext": {"http": {
    "method": "POST"}}, "body": {"entity": "user"}}, locked=False)
@example(event={"rawPath": "/v1/features/retrieve", "requestContext": {"http": {
    "method": "POST"}}, "body": 5, "isBase64Encoded": True}, locked=False)
@example(event={"rawPath": "/v1/features/retrieve", "requestContext": {"http": {
    "method": "POST"}}, "body": "[" * 100_000}, locked=False)
@example(event={"rawPath": "/v1/features/retrieve", "requestContext": {"http": {
    "method": "POST"}}, "body": json.dumps({"entity": "user", "keys": [{"user_id": 1}],
                                            "features": ["\ud800"]})}, locked=False)
@example(event={"rawPath": "/v1/features/retrieve", "requestContext": {"http": {
    "method": "POST"}}, "body": json.dumps({"entity": "user_device", "keys": [
        {"user_id": 1, "device_id": "\ud800"}], "features": ["device_seen_before"]})},
    locked=False)
@example(event={"rawPath": "/\ud800"}, locked=False)
@example(event={"rawPath": "/v1/features/retrieve", "requestContext": {"http": {
    "method": "POST"}}, "body": json.dumps({"entity": "user_device", "keys": [
        {"user_id": 1, "device_id": "x" * 3000}], "features": ["device_seen_before"]})},
    locked=False)
@example(event={"rawPath": "/v1/features/user_device/1|" + "é" * 700,
                "queryStringParameters": {"features": "device_seen_before"}}, locked=False)
@example(event={"rawPath": "/v1/features/retrieve", "requestContext": {"http": {
    "method": "POST"}}, "body": base64.b64encode(b"\xff\xfe{").decode(),
    "isBase64Encoded": True}, locked=False)
def test_every_event_gets_a_json_answer_the_document_allows(apps, event, locked):
    check(apps[locked], event)


def test_a_key_too_long_for_dynamodb_is_a_400_naming_it_not_a_degraded_batch(
        dynamodb_table, catalog, serve):
    """Before: one such key failed the whole BatchGetItem, and all 100 keys came back as
    defaults with `degraded: true`."""
    client, table = dynamodb_table
    url = serve(make_app(catalog, client, table))
    keys = [{"user_id": i, "device_id": f"d-{i}"} for i in range(99)]
    keys.append({"user_id": 99, "device_id": "d" * 2100})
    answer = call(url, "/v1/features/retrieve", method="POST", body=json.dumps(
        {"entity": "user_device", "keys": keys, "features": ["device_seen_before"]}))
    assert (answer.status, answer.body) == (400, {"error": "bad_request", "message": (
        "entity `user_device`: key `device_id` is too long: its DynamoDB partition key "
        "(`user_device#<key>`, percent-encoded) would be at least 2,112 bytes, over "
        "DynamoDB's limit of 2,048")})
    # percent-encoding counts: 700 "é" are 1,400 bytes of UTF-8 and 4,200 in the key
    answer = call(url, "/v1/features/user_device/1%7C" + "%C3%A9" * 700
                  + "?features=device_seen_before")
    assert answer.status == 400
    assert answer.body["message"].endswith("would be 4,214 bytes, over DynamoDB's limit of "
                                           "2,048")
    keys[-1]["device_id"] = "d" * 2000  # fits: a real read, nothing degraded
    answer = call(url, "/v1/features/retrieve", method="POST", body=json.dumps(
        {"entity": "user_device", "keys": keys, "features": ["device_seen_before"]}))
    assert answer.status == 200 and answer.body["degraded"] is False


@pytest.mark.parametrize(("text", "message"), [
    ("²", "entity `user`: key `user_id` must be an int64, got '²'"),
    ("--5", "entity `user`: key `user_id` must be an int64, got '--5'"),
    ("x" * 3000, "entity `user`: key `user_id` is too long: its DynamoDB partition key "
                 "(`user#<key>`, percent-encoded) would be at least 3,005 bytes, over "
                 "DynamoDB's limit of 2,048"),
])
def test_key_texts_that_are_not_int64_are_400s(apps, text, message):
    event = {"rawPath": f"/v1/features/user/{text}",
             "queryStringParameters": {"features": F}}
    answer = apps[0].handle(event)
    assert (answer["statusCode"], json.loads(answer["body"])) == (
        400, {"error": "bad_request", "message": message})


@pytest.mark.parametrize(("event", "message"), [
    (None, "the event is not an API Gateway HTTP API (payload 2.0) event: expected a JSON "
           "object, got null"),
    ({"requestContext": {"http": {"method": 5}}},
     "the event's `requestContext.http.method` must be a string, got int"),
    ({"rawPath": "/v1/feature-views", "headers": {"x-api-key": 5}},
     "the `x-api-key` header must be text, got int"),
    ({"rawPath": "/v1/features/retrieve", "requestContext": {"http": {"method": "POST"}},
      "body": {"entity": "user"}}, "the event's `body` must be a string, got dict"),
    ({"rawPath": "/v1/features/retrieve", "requestContext": {"http": {"method": "POST"}},
      "body": "{\"entity\": \"\ud800\"}"},
     "the request body is not valid UTF-8 (it holds a lone surrogate); send JSON in UTF-8"),
    ({"rawPath": "/v1/features/retrieve", "requestContext": {"http": {"method": "POST"}},
      "body": base64.b64encode(b'{"entity": "\xff"}').decode(), "isBase64Encoded": True},
     "the request body is not valid UTF-8 (byte 0xff at position 12); send JSON in UTF-8"),
    ({"rawPath": "/v1/features/retrieve", "requestContext": {"http": {"method": "POST"}},
      "body": "[" * 100_000},
     "the request body is not valid JSON for this endpoint: it nests deeper than any "
     "request needs"),
])
def test_malformed_events_are_400s_that_name_the_problem(apps, event, message):
    answer = apps[0].handle(event)
    assert (answer["statusCode"], json.loads(answer["body"])) == (
        400, {"error": "bad_request", "message": message})


def test_a_lone_surrogate_echoed_in_a_message_is_escaped(apps):
    answer = apps[0].handle({"rawPath": "/v1/features/retrieve", "requestContext": {
        "http": {"method": "POST"}}, "body": json.dumps(
            {"entity": "user", "keys": [{"user_id": 1}], "features": ["\ud800x"]})})
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["message"].startswith(
        "unknown feature view `\\ud800x`")
