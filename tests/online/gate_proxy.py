"""An HTTP proxy in front of DynamoDB Local that lets a set number of item writes
through, then holds every later one unanswered: a worker behind it is stopped mid-shard
at a known point, its reads and markers (PutItem) still answered, so a test can kill it
there without racing it. Every request is forwarded whole (one upstream request per request),
so the answers are DynamoDB Local's own."""

from __future__ import annotations

import http.client
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
        self.passed = 0
        self.lock = threading.Lock()
        self.held = threading.Event()  # a request beyond ``allow`` arrived
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        server: GateProxy = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        if operation in ITEM_WRITES:
            with server.lock:
                server.passed += 1
                holding = server.passed > server.allow
            if holding:
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
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_HEADERS:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
