"""The local adapter: HTTP requests become API Gateway v2 events for the very same handler.

So ``featurestore serve`` exercises exactly the code Lambda runs; the only local
additions are ``/metrics`` (Prometheus text; Lambda publishes EMF instead), which needs
the key the catalog needs (internal features of every view: it names views and shows
their lag and traffic), and the threaded server itself. Keep-alive (HTTP/1.1) so a
client's connection is reused. No ``Server`` header says what runs behind the port.

What API Gateway does in front of the Lambda, this server does itself, so that a laptop
or a container running it cannot be tied up by a client:

- **A body limit**, API Gateway's 10 MB (``MAX_BODY_BYTES``), checked on Content-Length
  before anything is read (413). A request refused whatever its body (no route, another
  method, no valid API key) is answered without reading the body at all, and the
  connection closed.
- **Time limits.** A connection whose next request line has not arrived within
  ``timeout_s`` is closed (an idle keep-alive connection, a client that connects and says
  nothing), and a request not read, answered and written within ``request_deadline_s`` is
  cut off, however slowly its bytes trickle in. One watchdog thread enforces both, by
  shutting the late socket down; the sockets themselves stay blocking, so a request pays
  no ``poll()`` before each read and write.
- **A connection limit** (``max_connections``): past it, new connections get a 503 at once.
- **JSON for everything.** Every method reaches the handler (405 with its body), HEAD
  answers without a body, and what the standard library refuses by itself (a malformed
  request line, a URI over 64 kB, too many headers, a chunked body) gets the same
  ``{"error", "message"}`` body, never an HTML page. The one exception is ``/catalog/``,
  when the server is given the catalog's folder: its pages are the static files
  ``featurestore catalog`` wrote (lookup/static_site.py), under the same limits; its
  refusals are JSON too.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from featurestore.errors import RequestError
from featurestore.lookup import static_site
from featurestore.lookup.access import HEADER as KEY_HEADER
from featurestore.lookup.handler import LookupApp, freeze_startup_objects
from featurestore.lookup.routes import ERRORS, MAX_BODY_BYTES, SERVER_ERRORS

TIMEOUT_S = 10.0  # waiting for a request line (idle keep-alive included)
REQUEST_DEADLINE_S = 30.0  # one request, read to written
MAX_CONNECTIONS = 256
METRICS_PATH = "/metrics"
_ERROR_NAMES = {**ERRORS, **SERVER_ERRORS}


def to_event(method: str, target: str, headers, body: bytes | None) -> dict:
    """The API Gateway HTTP API payload v2 event of one HTTP request."""
    url = urlsplit(target)
    query: dict[str, str] = {}
    for name, value in parse_qsl(url.query, keep_blank_values=True):
        # API Gateway joins repeated parameters with commas
        query[name] = f"{query[name]},{value}" if name in query else value
    lowered = {name.lower(): value for name, value in headers.items()}
    now = dt.datetime.now(dt.UTC)
    return with_body({
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
    }, body)


def with_body(event: dict, body: bytes | None) -> dict:
    """``event`` with ``body`` as API Gateway passes it: UTF-8 text as it is, anything else
    base64 with ``isBase64Encoded`` (the handler then says it is not UTF-8)."""
    event["body"], event["isBase64Encoded"] = None, False
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def _cut(text: str) -> str:
    return text if len(text) <= 20 else f"{text[:20]}..."


def error_body(code: int, message: str) -> bytes:
    return json.dumps({"error": _ERROR_NAMES.get(code, "error"), "message": message},
                      separators=(",", ":")).encode()


class _Watchdog:
    """Cuts off connections past their deadline: one thread for the whole server, which
    shuts a late socket down (the handler thread blocked on it then returns at once)."""

    def __init__(self, interval_s: float = 0.5):
        self.interval_s = interval_s
        self.deadlines: dict[socket.socket, float] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lookup-watchdog", daemon=True)
        self.thread.start()

    def watch(self, connection: socket.socket, deadline: float) -> None:
        with self.lock:
            self.deadlines[connection] = deadline

    def unwatch(self, connection: socket.socket) -> None:
        with self.lock:
            self.deadlines.pop(connection, None)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            now = time.monotonic()
            with self.lock:
                late = [c for c, deadline in self.deadlines.items() if deadline <= now]
                for connection in late:
                    del self.deadlines[connection]
            for connection in late:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopped.set()


class LookupServer(ThreadingHTTPServer):
    """A thread per connection, with the limits of the module docstring."""

    daemon_threads = True

    def __init__(self, address, handler, *, max_connections: int = MAX_CONNECTIONS):
        self.max_connections = max_connections
        self.active = 0
        self.active_lock = threading.Lock()
        self.watchdog = _Watchdog()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self.active_lock:
            full = self.active >= self.max_connections
            if not full:
                self.active += 1
        if full:  # refuse at once, from this thread, without blocking on the client
            payload = error_body(503, f"the server is at its limit of {self.max_connections} "
                                      "connections; retry shortly")
            try:
                request.setblocking(False)
                request.send(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: "
                             b"application/json\r\nconnection: close\r\ncontent-length: "
                             + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self.active_lock:
            self.active -= 1

    def handle_error(self, request, client_address):
        """A client that went away (reset, cut off by the watchdog) is no error to print."""
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def server_close(self):
        self.watchdog.stop()
        super().server_close()


def make_server(app: LookupApp, host: str = "127.0.0.1", port: int = 0, *,
                max_body_bytes: int = MAX_BODY_BYTES, timeout_s: float = TIMEOUT_S,
                request_deadline_s: float = REQUEST_DEADLINE_S,
                max_connections: int = MAX_CONNECTIONS,
                catalog_dir: Path | None = None) -> LookupServer:
    """The server; ``catalog_dir``: serve the catalog site in it at /catalog/."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are separate writes: with Nagle on, the client's delayed ACK
        # holds the body back about 40 ms.
        disable_nagle_algorithm = True
        expects_continue = False  # set by handle_expect_100, per request
        def handle_one_request(self):
            watchdog = self.server.watchdog
            watchdog.watch(self.connection, time.monotonic() + timeout_s)  # idle
            try:
                super().handle_one_request()
            finally:
                watchdog.unwatch(self.connection)

        def parse_request(self):
            # the request line is in: from here the request has its own deadline
            self.server.watchdog.watch(self.connection, time.monotonic() + request_deadline_s)
            return super().parse_request()

        # Every method reaches the handler, which answers 405 for those it does not serve
        # (the standard library answers 501 with an HTML page): the usual ones here, any
        # other token through send_error's 501. Not with a __getattr__: a class that has
        # one pays a slower lookup on every attribute, some 10 us a request here.
        def do_GET(self):  # noqa: N802 (the stdlib's naming)
            self._serve("GET")

        def do_POST(self):  # noqa: N802
            self._serve("POST")

        def do_PUT(self):  # noqa: N802
            self._serve("PUT")

        def do_DELETE(self):  # noqa: N802
            self._serve("DELETE")

        def do_PATCH(self):  # noqa: N802
            self._serve("PATCH")

        def do_HEAD(self):  # noqa: N802
            self._serve("HEAD")

        def do_OPTIONS(self):  # noqa: N802
            self._serve("OPTIONS")

        def do_TRACE(self):  # noqa: N802
            self._serve("TRACE")

        def handle_expect_100(self):
            # "Expect: 100-continue" (curl sends it for bodies over 1 MB): say continue only
            # once the body is wanted, so a refused request is never sent its body
            self.expects_continue = True
            return True

        def _serve(self, method: str) -> None:
            expects_continue, self.expects_continue = self.expects_continue, False
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                self._refuse(411, "send the body with a Content-Length header; chunked "
                                  "transfer encoding is not accepted")
                return
            text = (self.headers.get("content-length") or "0").strip()
            if not (text.isascii() and text.isdigit()):
                self._refuse(400, f"Content-Length {text[:40]!r} is not a number of bytes")
                return
            if len(text) > 15 or int(text) > max_body_bytes:
                self._refuse(413, f"the body is {_cut(text)} bytes; the limit is "
                                  f"{max_body_bytes:,} (API Gateway's)")
                return
            length = int(text)
            if urlsplit(self.path).path == METRICS_PATH:
                self.close_connection = self.close_connection or bool(length)  # body unread
                self._metrics(method)
                return
            if catalog_dir is not None and static_site.is_catalog_path(self.path):
                self.close_connection = self.close_connection or bool(length)  # body unread
                code, headers, payload, message = static_site.answer(
                    catalog_dir, method, self.path, app.access, self.headers.get(KEY_HEADER),
                    uuid.uuid4().hex)
                if payload is None:
                    headers = {"content-type": "application/json", **headers}
                    payload = error_body(code, message)
                self._reply(code, headers, payload)
                return
            event = to_event(method, self.path, self.headers, None)
            if length:
                if app.refuses_without_body(event):
                    self.close_connection = True  # its body stays unread
                    self._answer(app.handle(event), close=True)
                    return
                if expects_continue:
                    self.send_response_only(100)
                    self.end_headers()
                body = self.rfile.read(length)
                if len(body) < length:  # the client went away, or was cut off, mid-body
                    self.close_connection = True
                    return
                with_body(event, body)
            self._answer(app.handle(event))

        def _metrics(self, method: str) -> None:
            """``/metrics`` for a key that may read internal features of every view (view
            names, lags and traffic are what it shows); anonymous where the server
            serves anonymous requests."""
            if method not in ("GET", "HEAD"):
                self._refuse(405, f"{METRICS_PATH} answers GET, not {method}")
                return
            try:
                app.access.authorize_operations(self.headers.get(KEY_HEADER),
                                                uuid.uuid4().hex, METRICS_PATH, METRICS_PATH)
            except RequestError as exc:
                self._refuse(exc.status, str(exc))
                return
            content_type, text = app.prometheus()
            self._reply(200, {"content-type": content_type}, text.encode())

        def _answer(self, answer: dict, close: bool = False) -> None:
            headers = dict(answer.get("headers", {}))
            if close:
                headers["connection"] = "close"
            self._reply(answer["statusCode"], headers, answer.get("body", "").encode())

        def _refuse(self, code: int, message: str) -> None:
            self.close_connection = True
            self._reply(code, {"content-type": "application/json", "connection": "close"},
                        error_body(code, message))

        def send_response(self, code, message=None):
            """The status line and a Date header, without the standard library's
            ``Server: BaseHTTP/0.6 Python/3.x`` (it tells a caller what to attack)."""
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())

        def _reply(self, code: int, headers: dict, payload: bytes) -> None:
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def send_error(self, code, message=None, explain=None):
            """The standard library's own refusals, as JSON (it writes HTML)."""
            if code == 501 and self.command:  # a method without a do_ above: the handler
                self._serve(self.command)  # answers it (405)
                return
            self.close_connection = True
            if self.request_version == "HTTP/0.9":  # a request line it could not parse:
                self.request_version = "HTTP/1.0"  # still answer with a status and headers
            text = message or explain or self.responses.get(code, ("error",))[0]
            try:
                self._reply(code, {"content-type": "application/json", "connection": "close"},
                            error_body(code, str(text)))
            except OSError:
                pass

        def log_message(self, format, *args):  # noqa: A002 - quiet: metrics count requests
            return

    server = LookupServer((host, port), Handler, max_connections=max_connections)
    freeze_startup_objects()
    return server


class BackgroundServer:
    """A server on a thread (tests, the benchmark): ``with BackgroundServer(app) as url:``."""

    def __init__(self, app: LookupApp, host: str = "127.0.0.1", port: int = 0, **limits):
        self.server = make_server(app, host, port, **limits)
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
