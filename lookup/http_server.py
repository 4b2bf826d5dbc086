"""The local adapter: HTTP requests become API Gateway v2 events for the very same handler.

So ``featurestore serve`` exercises exactly the code Lambda runs; the only local
additions are ``/metrics`` (Prometheus text; Lambda publishes EMF instead) and the
threaded server itself. Keep-alive (HTTP/1.1) so a client's connection is reused.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from featurestore.lookup.handler import LookupApp, freeze_startup_objects


def to_event(method: str, target: str, headers, body: bytes | None) -> dict:
    """The API Gateway HTTP API payload v2 event of one HTTP request."""
    url = urlsplit(target)
    query: dict[str, str] = {}
    for name, value in parse_qsl(url.query, keep_blank_values=True):
        # API Gateway joins repeated parameters with commas
        query[name] = f"{query[name]},{value}" if name in query else value
    lowered = {name.lower(): value for name, value in headers.items()}
    now = dt.datetime.now(dt.UTC)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": lowered,
        "queryStringParameters": query or None,
        "requestContext": {
            "http": {"method": method, "path": url.path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": lowered.get("user-agent", "")},
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": body.decode("utf-8", "replace") if body else None,
        "isBase64Encoded": False,
    }


def make_server(app: LookupApp, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are separate writes: with Nagle on, the client's delayed ACK
        # holds the body back about 40 ms.
        disable_nagle_algorithm = True

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            if method == "GET" and urlsplit(self.path).path == "/metrics":
                text = app.metrics.prometheus(app.cache).encode()
                self._reply(200, {"content-type": "text/plain; version=0.0.4"}, text)
                return
            answer = app.handle(to_event(method, self.path, self.headers, body))
            self._reply(answer["statusCode"], answer.get("headers", {}),
                        answer.get("body", "").encode())

        def _reply(self, code: int, headers: dict, payload: bytes) -> None:
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # noqa: N802 (the stdlib's naming)
            self._serve("GET")

        def do_POST(self):  # noqa: N802
            self._serve("POST")

        def do_PUT(self):  # noqa: N802
            self._serve("PUT")

        def do_DELETE(self):  # noqa: N802
            self._serve("DELETE")

        def log_message(self, format, *args):  # noqa: A002 - quiet: metrics count requests
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    freeze_startup_objects()
    return server


class BackgroundServer:
    """A server on a thread (tests, the benchmark): ``with BackgroundServer(app) as url:``."""

    def __init__(self, app: LookupApp, host: str = "127.0.0.1", port: int = 0):
        self.server = make_server(app, host, port)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> str:
        self.thread.start()
        time.sleep(0)
        return self.url

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
