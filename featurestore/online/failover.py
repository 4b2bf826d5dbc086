"""Two regions of one feature table: the lookup reads the primary, and the replica when
the primary does not answer, within one deadline.

The table is a DynamoDB global table (deploy/template.yaml) written in one region only,
the primary: the sync, promotions, retirements and ``forget`` write there, so every
conditional write (the never-regress rule, the serving pointer's) is judged against the
newest data, and the replica only ever receives the primary's writes in the primary's
order. Last-writer-wins, the rule by which a global table settles two regions' writes to
one item, then has nothing to settle. This store is for readers: its writes go to the
primary, as a ``DynamoDBStore`` of the primary alone would make them.

A read tries the primary within ``PRIMARY_SHARE`` of the deadline, then the replica
within the rest, so a lookup never outlasts its deadline: a primary that refuses
connections costs a millisecond, one that hangs costs its share. After the primary
failed, reads go to the replica first for ``PROBE_AFTER_S``, then one read tries the
primary again (so a primary that is down costs each lookup nothing, and one that is back
is read again within a second). Every answer says which region gave it
(``Items.region``); only when both regions fail is it ``StoreUnavailable``, and the
lookup serves defaults.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from featurestore.errors import StoreUnavailable
from featurestore.online.config import OnlineConfig
from featurestore.online.store import Items, Key, OnlineStore

PRIMARY_SHARE = 0.5  # of the lookup's deadline, for the primary; the replica has the rest
PROBE_AFTER_S = 1.0  # how long reads go to the replica first after the primary failed
PRIMARY, REPLICA = "primary", "replica"


def lookup_store(config: OnlineConfig, *, deadline_s: float, consistent_read: bool = False,
                 max_pool_connections: int = 32) -> OnlineStore:
    """The lookup's store for ``config``: its table within ``deadline_s``, and with a
    replica configured, both regions behind one ``FailoverStore`` (the deadline shared)."""
    from featurestore.online.dynamodb import DynamoDBStore

    replica = config.replica()
    if replica is None:
        return DynamoDBStore.for_lookup(config, deadline_s=deadline_s,
                                        consistent_read=consistent_read,
                                        max_pool_connections=max_pool_connections)
    first = deadline_s * PRIMARY_SHARE
    return FailoverStore(
        DynamoDBStore.for_lookup(config.primary(), deadline_s=first,
                                 consistent_read=consistent_read,
                                 max_pool_connections=max_pool_connections),
        DynamoDBStore.for_lookup(replica, deadline_s=deadline_s - first,
                                 consistent_read=consistent_read,
                                 max_pool_connections=max_pool_connections))


class FailoverStore:
    """An ``OnlineStore`` over two regions of one global table: reads from the primary or,
    when it does not answer, the replica; everything else from and to the primary."""

    def __init__(self, primary: OnlineStore, replica: OnlineStore, *,
                 probe_after_s: float = PROBE_AFTER_S, clock=time.monotonic):
        self.primary, self.replica = primary, replica
        self.table = primary.table
        self.probe_after_s = probe_after_s
        self.clock = clock
        self.failovers = 0  # reads the replica answered (tests and the benchmark count them)
        self._primary_down_until = 0.0  # monotonic; reads go to the replica first until
        self._lock = threading.Lock()

    @property
    def regions(self) -> dict[str, str]:
        """``{"primary": region, "replica": region}``."""
        return {PRIMARY: region_of(self.primary), REPLICA: region_of(self.replica)}

    def where(self) -> str:
        return (f"{self.primary.where()} ({region_of(self.primary)}), replica "
                f"{self.replica.where()} ({region_of(self.replica)})")

    # -- reads: the primary, else the replica ---------------------------------------------
    def get(self, keys: Sequence[Key], attributes: Sequence[str], *,
            consistent: bool | None = None) -> Items:
        """The items from the first region that answers (``Items.region`` names it);
        ``StoreUnavailable`` naming both regions' problems when neither does."""
        problems = []
        for role, store in self._order():
            try:
                found = store.get(keys, attributes, consistent=consistent)
            except StoreUnavailable as exc:
                problems.append(f"{role} {region_of(store)}: {exc}")
                if role == PRIMARY:
                    self._primary_failed()
                continue
            if role == REPLICA:
                with self._lock:
                    self.failovers += 1
            return Items(found, region=region_of(store))
        raise StoreUnavailable("; ".join(problems))

    def ping(self) -> None:
        """StoreUnavailable only when neither region answers (the lookup can still serve
        while one does); ``check`` tells each region's state."""
        states = self.check()
        if all(problem is not None for _region, problem in states.values()):
            raise StoreUnavailable("; ".join(f"{role} {region}: {problem}" for role, (
                region, problem) in states.items()))

    def check(self) -> dict[str, tuple[str, str | None]]:
        """``{role: (region, problem or None)}``: one ping of each region."""
        states = {}
        for role, store in ((PRIMARY, self.primary), (REPLICA, self.replica)):
            try:
                store.ping()
            except StoreUnavailable as exc:
                states[role] = (region_of(store), str(exc))
            else:
                states[role] = (region_of(store), None)
        return states

    def _order(self) -> list[tuple[str, OnlineStore]]:
        if self.clock() < self._primary_down_until:
            return [(REPLICA, self.replica), (PRIMARY, self.primary)]
        return [(PRIMARY, self.primary), (REPLICA, self.replica)]

    def _primary_failed(self) -> None:
        with self._lock:
            self._primary_down_until = self.clock() + self.probe_after_s

    # -- everything else is the primary's -------------------------------------------------
    def store_id(self) -> str:
        return self.primary.store_id()

    def errors(self):
        return self.primary.errors()

    def writer(self, *, threads: int = 8):
        return self.primary.writer(threads=threads)

    def read_markers(self, names):
        return self.primary.read_markers(names)

    def put_marker(self, name, fields, *, absent=False, expect=None) -> bool:
        return self.primary.put_marker(name, fields, absent=absent, expect=expect)

    def delete_markers(self, names) -> None:
        self.primary.delete_markers(names)

    def read_pointers(self, views):
        return self.primary.read_pointers(views)

    def write_pointer(self, pointer, expected) -> None:
        self.primary.write_pointer(pointer, expected)

    def entity_items(self, pk: str) -> list[str]:
        return self.primary.entity_items(pk)

    def version_items(self, sk: str):
        return self.primary.version_items(sk)

    def delete_items(self, keys) -> None:
        self.primary.delete_items(keys)


def region_of(store: OnlineStore) -> str:
    """The region a store answers from (its config's), or its ``where()``."""
    config = getattr(store, "config", None)
    return getattr(config, "region", None) or store.where()
