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

The request handler is ``lookup/http_handler.py``; ``serve --workers N`` runs N of these
servers in pre-forked processes on one listening socket (``lookup/workers.py``).
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from featurestore.lookup.handler import LookupApp, freeze_startup_objects
from featurestore.lookup.http_handler import (  # noqa: F401 - the adapter's public names
    MAX_CONNECTIONS,
    METRICS_PATH,
    REQUEST_DEADLINE_S,
    TIMEOUT_S,
    Limits,
    LookupHandler,
    error_body,
    to_event,
    with_body,
)
from featurestore.lookup.routes import MAX_BODY_BYTES


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
    """A thread per connection, with the limits of the module docstring, serving ``app``.

    ``listener``: an already bound and listening socket to accept on instead of binding
    ``address`` (a pre-forked worker shares its parent's, ``lookup/workers.py``). It is
    non-blocking, so a worker that loses the race for a connection to another worker
    goes back to waiting instead of blocking in ``accept``.
    """

    daemon_threads = True

    def __init__(self, address, app: LookupApp, *, limits: Limits | None = None,
                 catalog_dir: Path | None = None, listener: socket.socket | None = None):
        self.app = app
        self.limits = limits or Limits()
        self.catalog_dir = catalog_dir
        self.active = 0
        self.active_lock = threading.Lock()
        self.watchdog = _Watchdog()
        if listener is None:
            super().__init__(address, LookupHandler)
            return
        super().__init__(listener.getsockname(), LookupHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        listener.setblocking(False)

    @property
    def max_connections(self) -> int:
        return self.limits.max_connections

    def get_request(self):
        request, address = self.socket.accept()
        request.setblocking(True)  # whatever the listener is: reads block, the watchdog cuts
        return request, address

    def process_request(self, request, client_address):
        with self.active_lock:
            full = self.active >= self.max_connections
            if not full:
                self.active += 1
        if full:  # refuse at once, from this thread, without blocking on the client
            self._refuse_connection(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._release()
            raise

    def _refuse_connection(self, request) -> None:
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
                max_connections: int = MAX_CONNECTIONS, catalog_dir: Path | None = None,
                listener: socket.socket | None = None) -> LookupServer:
    """The server; ``catalog_dir``: serve the catalog site in it at /catalog/;
    ``listener``: accept on this listening socket instead of binding ``host:port``."""
    limits = Limits(max_body_bytes, timeout_s, request_deadline_s, max_connections)
    server = LookupServer((host, port), app, limits=limits, catalog_dir=catalog_dir,
                          listener=listener)
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
