"""Which version of each view the lookup serves, read from the serving pointers in
DynamoDB (``featurestore/online/serving.py``) at most once per refresh interval.

Only views with several versions in the catalog have a choice to make; for them the
pointers are read with one consistent BatchGetItem when the last read is older than
``refresh_s`` (default 1 s, FEATURESTORE_LOOKUP_VERSION_REFRESH_MS), before the request
that finds them stale reads its features. Each request takes one ``Snapshot`` at its
start and answers every key and every view from it, so no answer mixes two versions of
one view, and a promotion is served by every lookup that starts more than ``refresh_s``
after it was written. When DynamoDB does not answer, the last snapshot stays (the
features will degrade anyway) and the next read is tried one interval later.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import NamedTuple

from featurestore.errors import StoreUnavailable
from featurestore.online.serving import ATTRIBUTES, POINTER_PK, decode_pointer

log = logging.getLogger("featurestore.lookup")
DEFAULT_REFRESH_S = 1.0


class Snapshot(NamedTuple):
    """The pointers as of one read: view -> served version, view -> retired versions."""

    served: dict[str, int]
    retired: dict[str, frozenset[int]]
    read_at: float  # monotonic seconds; 0: never read


EMPTY = Snapshot({}, {}, 0.0)


class ServedVersions:
    """The serving pointers of a catalog's multi-version views, refreshed on demand."""

    def __init__(self, catalog, store, refresh_s: float = DEFAULT_REFRESH_S,
                 clock=time.monotonic):
        self.views = sorted(name for name, versions in catalog.versions.items()
                            if len(versions) > 1)
        self.store = store
        self.refresh_s = refresh_s
        self.clock = clock
        self.reads = 0  # pointer reads made (tests and the benchmark count them)
        self._snapshot = EMPTY
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The pointers to answer one request with; read again when older than the
        refresh interval. One read at a time: a request that finds one under way waits
        for it and reads again only if it began too early (the bound holds per request,
        also on the threaded local server)."""
        current = self._snapshot
        if not self.views or self.clock() - current.read_at < self.refresh_s:
            return current
        with self._lock:
            if self.clock() - self._snapshot.read_at >= self.refresh_s:
                self._snapshot = self._read()
            return self._snapshot

    def _read(self) -> Snapshot:
        keys = [(POINTER_PK, view) for view in self.views]
        started = self.clock()
        try:
            items = self.store.get(keys, list(ATTRIBUTES), consistent=True)
        except StoreUnavailable as exc:
            log.warning("serving pointers not read (%s); keeping the last ones for %.1f s",
                        exc, self.refresh_s)
            return self._snapshot._replace(read_at=started)
        self.reads += 1
        served, retired = {}, {}
        for view in self.views:
            pointer = decode_pointer(view, items.get((POINTER_PK, view)))
            if pointer.served is not None:
                served[view] = pointer.served
            if pointer.retired:
                retired[view] = pointer.retired
        return Snapshot(served, retired, started)
