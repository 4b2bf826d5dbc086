"""The online stores the tests use, in one place: the real ``DynamoDBStore`` over DynamoDB
Local (the ``dynamodb_local`` / ``dynamodb_table`` fixtures), and the faults injected
around it.

A test that needs items reads them from DynamoDB Local through the real store, never from
a hand-made stand-in, so the reads, the projection and the item codec under test are the
production ones. A test that needs a store that fails wraps the real one:

- ``FaultyStore``: an ``OnlineStore`` (``featurestore/online/store.py``) that forwards to
  the real store, fails its reads or pings on demand (a store that does not answer, one
  that raises something unexpected) and counts the reads that reached it;
- ``UnprocessingClient`` and ``PausingClient``: below the interface, a boto3 client that
  leaves items unprocessed as a throttled table does, or stops answering after a number
  of items: faults of DynamoDB's own protocol, which only the DynamoDB implementation
  (its writer's retries) sees.
"""

from __future__ import annotations

import pathlib
import threading

from featurestore.errors import StoreUnavailable
from featurestore.online.dynamodb import DynamoDBStore


def store_for(client, table: str, **options) -> DynamoDBStore:
    """The real store of ``table`` over ``client`` (a test's DynamoDB Local client)."""
    return DynamoDBStore.over(client, table, **options)


class FaultyStore:
    """The real store with faults injected: ``get_error`` / ``ping_error`` (an exception,
    or a function of the call returning one or None) raised instead of reading; ``reads``
    counts the feature reads that reached the store (``consistent`` ones, the serving
    pointers, apart in ``pointer_reads``); ``calls`` every ``get``."""

    def __init__(self, store: DynamoDBStore, *, get_error=None, ping_error=None):
        self.store = store
        self.get_error = get_error
        self.ping_error = ping_error
        self.reads = self.pointer_reads = self.calls = 0

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def get(self, keys, attributes, *, consistent=None):
        self.calls += 1
        error = self._error(self.get_error, keys)
        if error is not None:
            raise error
        if consistent:
            self.pointer_reads += 1
        else:
            self.reads += 1
        return self.store.get(keys, attributes, consistent=consistent)

    def ping(self) -> None:
        error = self._error(self.ping_error, None)
        if error is not None:
            raise error
        self.store.ping()

    @staticmethod
    def _error(fault, keys):
        return fault(keys) if callable(fault) and not isinstance(fault, BaseException) \
            else fault


def down(message: str = "DynamoDB is unreachable: refused") -> StoreUnavailable:
    """The error of a store that does not answer."""
    return StoreUnavailable(message)


class UnprocessingClient:
    """A real DynamoDB client that, like a throttled table, leaves items unprocessed."""

    def __init__(self, client, leave: int, times: int):
        self.client, self.leave, self.times = client, leave, times
        self.meta = client.meta

    def batch_write_item(self, RequestItems):  # noqa: N803 (boto3's spelling)
        (table, requests), = RequestItems.items()
        if self.times > 0:
            self.times -= 1
            if requests[self.leave:]:
                self.client.batch_write_item(RequestItems={table: requests[self.leave:]})
            return {"UnprocessedItems": {table: requests[:self.leave]}}
        return self.client.batch_write_item(RequestItems=RequestItems)

    def __getattr__(self, name: str):
        return getattr(self.client, name)


class PausingClient:
    """The real client until ``after`` items are written; then every write waits for ever.
    One write in flight at a time, so when the file ``paused`` appears nothing is on its
    way to DynamoDB: a kill lands mid-run, and the count is final."""

    def __init__(self, client, paused: str, after: int = 500):
        self._client, self._lock, self._written = client, threading.Lock(), 0
        self.paused, self.after = paused, after

    def __getattr__(self, name):
        return getattr(self._client, name)

    def batch_write_item(self, **request):
        with self._lock:
            if self._written >= self.after:
                pathlib.Path(self.paused).touch()
                threading.Event().wait()
            answer = self._client.batch_write_item(**request)
            sent = sum(len(items) for items in request["RequestItems"].values())
            left = sum(len(items) for items in answer.get("UnprocessedItems", {}).values())
            self._written += sent - left
            return answer
