"""`featurestore serve`'s server: limits, time-outs, JSON for every answer, a health check
that reads DynamoDB, and a store that follows DynamoDB Local when it moves."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import socket
import time

import pytest

from featurestore.errors import StoreUnavailable
from featurestore.lookup.access import AccessPolicy, hash_key
from featurestore.lookup.handler import LookupApp
from featurestore.lookup.http_server import BackgroundServer
from featurestore.online.config import OnlineConfig
from featurestore.online.local import free_port
from tests.lookup.lookup_testkit import NOW, REPO_ROOT, call, make_app, seed
from tests.online_stores import store_for
from tests.waiting import wait_until

F = "user_transactions:txn_count_7d"
KEYS = json.dumps({"keys": [{"name": "fraud-model", "sha256": hash_key("s3cret"),
                             "sensitivities": ["public", "internal"], "views": ["*"]}]})


@pytest.fixture
def server(catalog, online_store):
    """``server(**limits) -> (host, port)``: a locked endpoint over an empty store."""
    started = []

    def start(**limits):
        app = LookupApp(catalog, online_store, access=AccessPolicy.from_config(KEYS, "keys"))
        background = BackgroundServer(app, **limits)
        started.append(background)
        background.__enter__()
        return background.server.server_address[:2]

    yield start
    for background in started:
        background.__exit__(None, None, None)


def exchange(address, raw: bytes, *, wait_s: float = 60.0) -> tuple[int, dict, bytes]:
    """Send ``raw`` bytes, read one answer: (status, headers, body). The socket has a time
    limit, so a server that waits for more (a body never sent) fails the test; the limit
    is generous, so a server slowed down by a loaded machine does not."""
    with socket.create_connection(address, timeout=wait_s) as sock:
        sock.sendall(raw)
        return read_answer(sock, head_only=raw.startswith(b"HEAD "))


def read_answer(sock, head_only: bool = False) -> tuple[int, dict, bytes]:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(1)
        if not chunk:
            break
        received += chunk
    head = received.partition(b"\r\n\r\n")[0]
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = 0 if head_only else int(headers.get("content-length", 0))
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def test_a_body_over_the_limit_is_refused_before_it_is_read(server):
    address = server()
    code, headers, body = exchange(address, (  # 150 MB announced, never sent
        b"POST /v1/features/retrieve HTTP/1.1\r\nHost: x\r\nx-api-key: s3cret\r\n"
        b"Content-Type: application/json\r\nContent-Length: 157286400\r\n\r\n"))
    assert (code, headers["content-type"], headers["connection"]) == (
        413, "application/json", "close")
    assert json.loads(body) == {
        "error": "payload_too_large",
        "message": "the body is 157286400 bytes; the limit is 10,485,760 (API Gateway's)"}


def test_a_request_refused_whatever_its_body_is_answered_without_reading_it(server):
    address = server()
    code, headers, body = exchange(address, (  # 5 MB announced, never sent
        b"POST /v1/features/retrieve HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
        b"Expect: 100-continue\r\n\r\n"))
    assert (code, headers["connection"]) == (401, "close")  # no "100 Continue" first
    assert json.loads(body)["error"] == "unauthorized"
    code, _, body = exchange(address, b"PUT /v1/features/retrieve HTTP/1.1\r\nHost: x\r\n"
                                      b"Content-Length: 5000000\r\n\r\n")
    assert (code, json.loads(body)["error"]) == (405, "method_not_allowed")


def test_a_wanted_body_after_100_continue(server):
    address = server()
    payload = json.dumps({"entity": "user", "keys": [{"user_id": 1}], "features": [F]})
    with socket.create_connection(address, timeout=60) as sock:
        sock.sendall(b"POST /v1/features/retrieve HTTP/1.1\r\nHost: x\r\nx-api-key: s3cret\r\n"
                     b"Expect: 100-continue\r\nContent-Length: "
                     + str(len(payload)).encode() + b"\r\n\r\n")
        assert read_answer(sock)[0] == 100
        sock.sendall(payload.encode())
        code, _, answer = read_answer(sock)
    assert code == 200 and json.loads(answer)["degraded"] is False


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS", "TRACE", "FOO", "DELETE"])
def test_every_method_gets_json(server, method):
    code, headers, body = exchange(server(), f"{method} /healthz HTTP/1.1\r\nHost: x\r\n"
                                             "\r\n".encode())
    assert (code, headers["content-type"]) == (405, "application/json")
    assert json.loads(body) == {"error": "method_not_allowed",
                                "message": f"/healthz answers GET, not {method}"}


def test_head_answers_headers_only(server):
    code, headers, body = exchange(server(), b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (code, headers["content-type"], body) == (405, "application/json", b"")
    assert int(headers["content-length"]) > 0


@pytest.mark.parametrize(("raw", "code", "error"), [
    (b"NONSENSE\r\n\r\n", 400, "bad_request"),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "uri_too_long"),
    (b"GET /healthz HTTP/1.1\r\n" + b"".join(b"x-%d: 1\r\n" % i for i in range(120))
     + b"\r\n", 431, "headers_too_large"),
    (b"GET /healthz HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"),
    (b"POST /v1/features/retrieve HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411,
     "length_required"),
    (b"POST /v1/features/retrieve HTTP/1.1\r\nContent-Length: -4\r\n\r\n", 400,
     "bad_request"),
    (b"POST /v1/features/retrieve HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
     413, "payload_too_large"),
])
def test_what_the_server_cannot_read_is_refused_in_json(server, raw, code, error):
    got, headers, body = exchange(server(), raw)
    assert (got, headers["content-type"]) == (code, "application/json")
    document = json.loads(body)
    assert set(document) == {"error", "message"} and document["error"] == error


def test_a_silent_client_is_let_go(server):
    address = server(timeout_s=0.5)
    with socket.create_connection(address, timeout=60) as sock:  # the test's own limit
        assert sock.recv(100) == b""  # closed by the server


def _cut_off_while_trickling(sock, within_s: float) -> bool:
    """Send a byte, then wait 0.2 s for the server to close, over and over: whether the
    server closed the connection within ``within_s``."""
    sock.settimeout(0.2)
    give_up = time.monotonic() + within_s
    while time.monotonic() < give_up:
        try:
            sock.sendall(b" ")
            if sock.recv(100) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:  # reset by the server
            return True
    return False


def test_a_trickling_client_is_cut_off_at_the_deadline(server):
    address = server(timeout_s=1.0, request_deadline_s=1.5)
    request = b"POST /v1/features/retrieve HTTP/1.1\r\nHost: x\r\nx-api-key: s3cret\r\n" \
              b"Content-Length: 1000\r\n\r\n"
    with socket.create_connection(address, timeout=60) as sock:
        sock.sendall(request)
        # a byte every 0.2 s is never silent for the 1 s idle limit, and takes 200 s to
        # send the body: only the 1.5 s request deadline ends it within the minute
        assert _cut_off_while_trickling(sock, within_s=60)


def test_past_the_connection_limit_new_connections_get_503(server):
    address = server(max_connections=2, timeout_s=600)  # held connections are not idled out
    held = [socket.create_connection(address, timeout=60) for _ in range(2)]
    try:
        for sock in held:  # an answer on each: the server has taken both connections
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_answer(sock)[0] == 200
        code, headers, body = exchange(address, b"GET /healthz HTTP/1.1\r\n\r\n")
        assert (code, json.loads(body)["error"]) == (503, "unavailable")
    finally:
        for sock in held:
            sock.close()
    # the server lets a closed connection go when its thread sees the end of it
    wait_until(lambda: exchange(address, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")[0]
               == 200, "a connection under the limit again")


def test_a_keep_alive_connection_still_serves_many_requests(server):
    address = server()
    with socket.create_connection(address, timeout=60) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_answer(sock)[0] == 200


def test_a_body_left_unread_never_becomes_the_next_request(server):
    address = server()
    smuggled = b"GET /v1/features/user/1?features=user_profile HTTP/1.1\r\n\r\n"
    with socket.create_connection(address, timeout=60) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nx-api-key: s3cret\r\nContent-Length: "
                     + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled)
        assert read_answer(sock)[0] == 200
        assert sock.recv(100) == b""  # closed: the body was not read as a request


def test_a_body_that_is_not_utf8_is_a_400_not_a_guess(server):
    body = b'{"entity": "user_device", "keys": [{"user_id": 1, "device_id": "\xff"}]}'
    position = body.index(b"\xff")
    code, _, answer = exchange(server(), b"POST /v1/features/retrieve HTTP/1.1\r\nHost: x\r\n"
                               b"x-api-key: s3cret\r\nContent-Length: "
                               + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert (code, json.loads(answer)["message"]) == (
        400, f"the request body is not valid UTF-8 (byte 0xff at position {position}); "
             "send JSON in UTF-8")


# -- /healthz is the process, /readyz the store (issue 18, item 4) ----------------------------
def test_healthz_stays_200_and_readyz_is_503_when_dynamodb_cannot_be_read(dynamodb_table,
                                                                          catalog, serve):
    client, table = dynamodb_table
    url = serve(make_app(catalog, client, table, built_at="2026-05-01T00:00:00Z",
                         deadline_s=60))  # a ping past 2 s on a loaded machine is no outage
    assert (call(url, "/healthz").status, call(url, "/healthz").body) == (200, {
        "status": "ok", "views": 4, "registry_built_at": "2026-05-01T00:00:00Z",
        "store": {"status": "ok"}})
    assert (call(url, "/readyz").status, call(url, "/readyz").body) == (200, {
        "status": "ready", "views": 4, "registry_built_at": "2026-05-01T00:00:00Z"})
    missing = serve(make_app(catalog, client, "no_such_table"))
    health = call(missing, "/healthz")
    assert health.status == 200  # a load balancer keeps the instance: it serves defaults
    assert health.body["status"] == "degraded"
    assert health.body["store"]["status"] == "unavailable"
    assert health.body["store"]["message"].startswith(
        "the online store cannot be read: DynamoDB refused the read: ResourceNotFoundException")
    answer = call(missing, "/readyz")
    assert answer.status == 503
    assert answer.body["error"] == "unavailable"
    assert answer.body["message"] == health.body["store"]["message"]
    closed = OnlineConfig(endpoint=f"http://127.0.0.1:{free_port()}").client(
        connect_timeout=0.2, read_timeout=0.25, max_attempts=1)
    down = serve(make_app(catalog, closed, table, deadline_s=0.25))
    assert call(down, "/healthz").status == 200
    answer = call(down, "/readyz")
    assert answer.status == 503
    assert answer.body["message"].startswith("the online store cannot be read: DynamoDB is "
                                             "unreachable: Could not connect")


# -- a refused connection fails fast (item 10d) ---------------------------------------------
def test_a_refused_connection_degrades_at_once_not_at_the_deadline(catalog):
    """Nothing listens: one BatchGetItem, no retry until the deadline. Counted in calls,
    not seconds: a retry loop would make many calls within its 60 s deadline, whatever
    the machine's load."""
    from featurestore.lookup import service

    closed = OnlineConfig(endpoint=f"http://127.0.0.1:{free_port()}").client(
        connect_timeout=0.2, read_timeout=60.0, max_attempts=1)
    calls = []
    closed.meta.events.register("before-call.dynamodb.BatchGetItem",
                                lambda **_: calls.append("BatchGetItem"))
    reader = store_for(closed, "fs_t", deadline_s=60.0)
    with pytest.raises(StoreUnavailable, match="^DynamoDB is unreachable: Could not connect"):
        reader.get([("user#1", "user_transactions#v1")], ["txn_count_7d"])
    assert calls == ["BatchGetItem"]
    requests = [service.entity_request(catalog, "user", [{"user_id": 1}], [F])]
    outcome = service.lookup(requests, reader, now=NOW)
    assert outcome.degraded
    assert calls == ["BatchGetItem"] * 2


# -- following the project's DynamoDB Local (item 7) and saying where it listens (10c) ------
@pytest.mark.slow
def test_serve_local_follows_dynamodb_local_to_its_new_port(catalog, tmp_path, serve, caplog):
    from featurestore.lookup.local import local_app
    from featurestore.online.client import ensure_table
    from featurestore.online.local import start_detached, stop_detached
    from featurestore.project import Project

    root = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    shutil.copy(REPO_ROOT / "dbt_project.yml", root)
    project = Project(root)
    warehouse = project.warehouse_dir
    caplog.set_level(logging.WARNING, "featurestore.online.local")
    first = start_detached(REPO_ROOT, warehouse)
    try:
        assert caplog.messages == [
            f"note: DynamoDB Local listens on port {first['port']} of every network "
            "interface, not only loopback (its launcher has no option to choose the address); "
            "other machines that can reach this one can read and write its tables. Close the "
            "port to them (a firewall) on a network you do not trust."]
        client = OnlineConfig(endpoint=first["endpoint"]).client()
        ensure_table(client, "featurestore_online", ttl=False)
        seed(client, "featurestore_online", catalog.views["user_transactions"], [
            {"user_id": 1, "feature_ts": dt.datetime.now(dt.UTC).replace(tzinfo=None),
             "txn_count_7d": 5}])
        project.settings = project.settings.with_online(endpoint=first["endpoint"],
                                                        local=True)
        url = serve(local_app(project, cache=False, log_serving=False, follow_local=True))
        path = f"/v1/features/user/1?features={F}"

        def served():  # an answer read from the store (a read past the 250 ms deadline of
            answer = call(url, path)  # a cold or starved JVM degrades: then ask again)
            return None if answer.body["degraded"] else answer

        answer = wait_until(served, "an answer from the first DynamoDB Local")
        assert answer.body["results"][0]["features"][F]["value"] == 5
        stop_detached(warehouse)  # returns once the process no longer holds its port
        answer = call(url, path)
        assert answer.body["degraded"] is True
        assert call(url, "/readyz").status == 503
        second = start_detached(REPO_ROOT, warehouse, free_port())  # its data, another port
        assert second["port"] != first["port"]
        wait_until(lambda: call(url, "/readyz").status == 200,
                   f"/readyz to read the store on its new port {second['port']}")
        answer = wait_until(served, "an answer from the second DynamoDB Local")
        assert answer.body["results"][0]["features"][F]["value"] == 5
    finally:
        stop_detached(warehouse)
