"""A small in-memory cache of decoded items, so a hot key does not hammer one partition.

Bounded (least recently used entries go first) and short-lived (entries expire after
``ttl_s``, default 1 s: a value may be served at most that much older than DynamoDB's).
Absent items are cached too: a hot key with no features is just as hot. An entry holds
the features it was read with; a request for other features of the same item is a miss.
Thread-safe for the local threaded server; in Lambda one request runs at a time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class TTLCache:
    def __init__(self, max_entries: int = 100_000, ttl_s: float = 1.0, clock=time.monotonic):
        if max_entries < 1 or ttl_s <= 0:
            raise ValueError("the lookup cache needs max_entries >= 1 and ttl_s > 0")
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, item_key: tuple[str, str], features: tuple) -> object | None:
        """The cached entry if fresh and read with all of ``features``; else None."""
        with self._lock:
            found = self._entries.get(item_key)
            if found is not None:
                expires, names, entry = found
                if expires > self.clock() and (names is None or all(
                        f.name in names for f in features)):
                    self._entries.move_to_end(item_key)
                    self.hits += 1
                    return entry
                if expires <= self.clock():
                    del self._entries[item_key]
            self.misses += 1
            return None

    def put(self, item_key: tuple[str, str], features: tuple, entry: object) -> None:
        # An absent item (no tuple of values) answers for every feature of the view.
        names = frozenset(f.name for f in features) if isinstance(entry[-1], dict) else None
        with self._lock:
            self._entries[item_key] = (self.clock() + self.ttl_s, names, entry)
            self._entries.move_to_end(item_key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
