"""An HTTP proxy in front of DynamoDB Local that lets a set number of item writes be
accepted, then freezes: every later request, of any kind, is held unanswered. A worker
behind it is stopped mid-shard at a known point, and what DynamoDB holds stays exactly as
it was at that point however long the test takes to kill the worker. Every request it
lets through is forwarded whole (one upstream request per request), so the answers are
DynamoDB Local's own.

Why a freeze and not only a held write: the worker does not wait forever on a write that
gets no answer. Its read timeouts and the writer's retries (``retry.UNREACHABLE_SECONDS``)
give up after some seconds and it marks its shard failed, and its lease thread keeps
renewing meanwhile. On a loaded machine the test may take longer than that to kill it
(a test stalled 40 s there found the shard failed, none running); frozen, neither the
renewals nor the failure reach the table.

Only writes DynamoDB accepted count towards ``allow``: a transaction cancelled by the
never-regress condition (a newer stored value among its items) writes nothing, and the
worker re-sends the rest; which rows the first batch holds depends on the order the
warehouse wrote the shard's file in.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ITEM_WRITES = frozenset({"BatchWriteItem", "TransactWriteItems"})
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class GateProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, allow: int):
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.allow = allow
        self.accepted_writes = 0
        self.accepted_items = 0  # items of the writes DynamoDB accepted
        self.lock = threading.Lock()
        self.frozen = threading.Event()  # ``allow`` writes were accepted: nothing more passes
        self.held = threading.Event()  # a request arrived after the freeze
        self.release = threading.Event()  # set at the end: held requests are dropped
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> GateProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()

    def count_accepted(self, operation: str, body: bytes, payload: bytes) -> None:
        """Count an item write DynamoDB answered 200, and freeze once ``allow`` were."""
        request, answer = json.loads(body), json.loads(payload or b"{}")
        if operation == "TransactWriteItems":
            items = len(request["TransactItems"])
        else:  # BatchWriteItem: less the items DynamoDB left unprocessed
            items = sum(len(puts) for puts in request["RequestItems"].values()) - sum(
                len(puts) for puts in answer.get("UnprocessedItems", {}).values())
        with self.lock:
            self.accepted_writes += 1
            self.accepted_items += items
            if self.accepted_writes >= self.allow:
                self.frozen.set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        server: GateProxy = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        if server.frozen.is_set():
            server.held.set()
            server.release.wait()
            self.close_connection = True
            return
        upstream = http.client.HTTPConnection(*server.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            upstream.request("POST", self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
        finally:
            upstream.close()
        if operation in ITEM_WRITES and answer.status == 200:
            server.count_accepted(operation, body, payload)  # before the worker hears of it
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_HEADERS:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
