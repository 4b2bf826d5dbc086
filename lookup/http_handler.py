"""One HTTP request of ``featurestore serve``: read, limited, turned into an API Gateway v2
event for the Lambda handler, and answered with JSON.

The class is the standard library's request handler with the adapter's rules (the
module docstring of ``lookup/http_server.py`` lists them). It keeps no settings of its
own: the app, the limits and the catalog folder are the server's (``LookupServer``), so
one class serves every server, and a pre-forked worker (``lookup/workers.py``) is just
another server over the same listening socket.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from featurestore.errors import RequestError
from featurestore.lookup import static_site
from featurestore.lookup.access import HEADER as KEY_HEADER
from featurestore.lookup.routes import ERRORS, MAX_BODY_BYTES, SERVER_ERRORS

TIMEOUT_S = 10.0  # waiting for a request line (idle keep-alive included)
REQUEST_DEADLINE_S = 30.0  # one request, read to written
MAX_CONNECTIONS = 256
METRICS_PATH = "/metrics"
_ERROR_NAMES = {**ERRORS, **SERVER_ERRORS}
_JSON_CLOSE = {"content-type": "application/json", "connection": "close"}


@dataclass(frozen=True)
class Limits:
    """What API Gateway would enforce in front of the Lambda, enforced by the server."""

    max_body_bytes: int = MAX_BODY_BYTES
    timeout_s: float = TIMEOUT_S
    request_deadline_s: float = REQUEST_DEADLINE_S
    max_connections: int = MAX_CONNECTIONS


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


class LookupHandler(BaseHTTPRequestHandler):
    """One connection's requests; ``self.server`` is a ``LookupServer`` (app, limits,
    watchdog, catalog folder)."""

    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: with Nagle on, the client's delayed ACK
    # holds the body back about 40 ms.
    disable_nagle_algorithm = True
    expects_continue = False  # set by handle_expect_100, per request

    # -- time limits: the watchdog cuts off an idle connection and a late request -------
    def handle_one_request(self):
        watchdog = self.server.watchdog
        watchdog.watch(self.connection, time.monotonic() + self.server.limits.timeout_s)
        try:
            super().handle_one_request()
        finally:
            watchdog.unwatch(self.connection)

    def parse_request(self):
        # the request line is in: from here the request has its own deadline
        self.server.watchdog.watch(self.connection, time.monotonic()
                                   + self.server.limits.request_deadline_s)
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

    # -- one request ----------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        expects_continue, self.expects_continue = self.expects_continue, False
        length = self._body_length()
        if length is None:  # refused, on its headers alone
            return
        path = urlsplit(self.path).path
        if path == METRICS_PATH:
            self.close_connection = self.close_connection or bool(length)  # body unread
            self._metrics(method)
            return
        catalog_dir = self.server.catalog_dir
        if catalog_dir is not None and static_site.is_catalog_path(self.path):
            self.close_connection = self.close_connection or bool(length)  # body unread
            self._catalog_page(method, catalog_dir)
            return
        self._lookup(method, length, expects_continue)

    def _body_length(self) -> int | None:
        """The request's Content-Length, or None once the request is refused (411, 400,
        413) without reading its body."""
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            self._refuse(411, "send the body with a Content-Length header; chunked "
                              "transfer encoding is not accepted")
            return None
        text = (self.headers.get("content-length") or "0").strip()
        if not (text.isascii() and text.isdigit()):
            self._refuse(400, f"Content-Length {text[:40]!r} is not a number of bytes")
            return None
        limit = self.server.limits.max_body_bytes
        if len(text) > 15 or int(text) > limit:
            self._refuse(413, f"the body is {_cut(text)} bytes; the limit is {limit:,} "
                              "(API Gateway's)")
            return None
        return int(text)

    def _lookup(self, method: str, length: int, expects_continue: bool) -> None:
        """The Lambda handler's answer to the request as an API Gateway event; a body the
        handler would refuse anyway is never read."""
        app = self.server.app
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

    def _catalog_page(self, method: str, catalog_dir) -> None:
        code, headers, payload, message = static_site.answer(
            catalog_dir, method, self.path, self.server.app.access,
            self.headers.get(KEY_HEADER), uuid.uuid4().hex)
        if payload is None:
            headers = {"content-type": "application/json", **headers}
            payload = error_body(code, message)
        self._reply(code, headers, payload)

    def _metrics(self, method: str) -> None:
        """``/metrics`` for a key that may read internal features of every view (view
        names, lags and traffic are what it shows); anonymous where the server serves
        anonymous requests."""
        if method not in ("GET", "HEAD"):
            self._refuse(405, f"{METRICS_PATH} answers GET, not {method}")
            return
        app = self.server.app
        try:
            app.access.authorize_operations(self.headers.get(KEY_HEADER), uuid.uuid4().hex,
                                            METRICS_PATH, METRICS_PATH)
        except RequestError as exc:
            self._refuse(exc.status, str(exc))
            return
        content_type, text = app.prometheus()
        self._reply(200, {"content-type": content_type}, text.encode())

    # -- answers --------------------------------------------------------------------------
    def _answer(self, answer: dict, close: bool = False) -> None:
        headers = dict(answer.get("headers", {}))
        if close:
            headers["connection"] = "close"
        self._reply(answer["statusCode"], headers, answer.get("body", "").encode())

    def _refuse(self, code: int, message: str) -> None:
        self.close_connection = True
        self._reply(code, _JSON_CLOSE, error_body(code, message))

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
            self._reply(code, _JSON_CLOSE, error_body(code, str(text)))
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - quiet: metrics count requests
        return
