"""Parallel writes of encoded items into DynamoDB that never regress a newer value.

Every write in the normal path is conditional: it never regresses a newer stored value
(the rule and how a refusal is read are in ``condition.py``).

How the conditional puts travel was decided by measurement (DynamoDB Local 10.3.0 from
npm, boto3 1.44, this machine: 2 cores, 24 GiB, Java 17; 6,000 items of 10 features)::

    plain BatchWriteItem, 25/request, 8 threads      3,700 - 5,000 items/s (the ceiling)
    conditional PutItem, 8 / 16 / 32 threads           620 /   630 /   690 items/s
    TransactWriteItems of 100 conditional puts,
        4 threads / 8 threads                         1,970 / 2,370 items/s
    TransactWriteItems of 25, 8 threads               2,400 items/s

PutItem is bound by boto3's per-request cost (one Python process, 2 cores), so more
threads do not help; TransactWriteItems carries 100 conditional puts per request and is
four times faster, so it is the conditional path. A cancelled transaction names the
reason per item: ConditionalCheckFailed items are counted as skipped and the rest are
re-sent; conflicts and throttling are retried with exponential backoff and full jitter.
No answer at all (connection refused, a timeout) is not throttling: it is re-sent for a
few seconds at most (``retry.UNREACHABLE_SECONDS``), then the writer stops with
``StoreUnavailable`` and drops what it had queued.
(On real AWS a transactional write costs two write units per item; that is the price
of the guarantee at this throughput.)

bench/sync.py on a quiet machine, 200,000 entities x 10 features: ceiling 4,596 items/s;
first sync (BatchWriteItem under the first-load claim) 4,305 items/s = 94%;
``--full-refresh`` (TransactWriteItems) 2,179 items/s = 47%; incremental sync of 1% changed
entities 1.0 s vs 91.8 s for the full refresh (93x); peak RSS 373 MiB.

Since issue 9 a run that can meet stored items reads them first (``write_changed``: one
consistent BatchGetItem of 100 keys, then TransactWriteItems of the differing items
only). ``--full-refresh`` with nothing changed over those 200,000 entities then writes
nothing: 20.3 s against 104.2 s for rewriting every item in the same run (5.1x; 4.5x
against the 91.8 s above), on the same machine shared at load average 6 to 8
(bench/sync.py).

Why conditional writes stop near half the ceiling here: during TransactWriteItems DynamoDB
Local's Java process uses about 1.5 of the 2 cores while this process uses 0.3, so the
server's cost per conditional item is the limit. More threads or a second writer process
do not help (8 threads 1,941/s; 2 processes x 8 threads 2,224/s; 16 threads 2,286/s), and
PartiQL ``BatchExecuteStatement`` with a per-statement condition is no faster (2,120/s).
Reading the stored ``feature_ts`` first and then writing with plain BatchWriteItem runs at
the ceiling (3,859/s), but its guarantee would rest on every writer holding a lease rather
than on DynamoDB's own check, so it is not used for runs that can meet stored values.

The plain BatchWriteItem path (``write_batch``) cannot carry a condition; the worker uses
it only for the first load of a view version into DynamoDB, claimed through a marker item
(see ``sync/first_load.py``), where there is no stored value to regress.

The writer is part of the DynamoDB implementation of the online store: the sync gets one
from ``DynamoDBStore.writer`` (``online/dynamodb.py``), never builds it from a client.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from featurestore.errors import OnlineStoreError, StoreUnavailable
from featurestore.online.client import unreachable_message
from featurestore.online.compare import item_key, same_item
from featurestore.online.condition import (
    blocking_codes,
    conditional_put,
    describe,
    only_stale,
    settle_cancelled,
)
from featurestore.online.raw_reads import install as install_raw_reads
from featurestore.online.retry import (
    RETRYABLE_CODES,
    RetryPolicy,
    backoff_delay,
    is_unreachable,
)

TRANSACT_LIMIT = 100
BATCH_LIMIT = 25
GET_LIMIT = 100  # BatchGetItem's keys per request
DEFAULT_RETRY = RetryPolicy()


class Counters:
    """Thread-safe counters shared by the writer threads and the progress bar."""

    def __init__(self):
        self._lock = threading.Lock()
        self.written = 0
        self.skipped = 0
        self.retried = 0
        self.unchanged = 0  # already stored exactly so: not written

    def add(self, written: int = 0, skipped: int = 0, retried: int = 0,
            unchanged: int = 0) -> None:
        with self._lock:
            self.written += written
            self.skipped += skipped
            self.retried += retried
            self.unchanged += unchanged


class _Stopped(Exception):
    """A request given up because the writer stopped (an earlier failure, or a cancel)."""


class Writer:
    """A pool of writer threads over one low-level client (boto3 clients are thread-safe).

    The first failure stops the whole writer: requests not yet sent are dropped, retries
    waiting for their turn wake up and give up, and ``submit``/``wait`` raise that first
    failure. So a store that dies mid-run ends the run in seconds, not after every queued
    request has used up its own retries.
    """

    def __init__(self, client, table: str, *, threads: int = 8,
                 retry: RetryPolicy = DEFAULT_RETRY, in_flight: int | None = None):
        self.client = client
        install_raw_reads(client)  # BatchGetItem answers without botocore's shape walk
        self.table = table
        self.retry = retry
        self.max_attempts = retry.max_attempts
        self.unreachable_seconds = retry.unreachable_seconds
        self.counters = Counters()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="fs-sync-writer")
        # Bounded hand-off: the reader waits instead of queueing the whole table in memory.
        self._slots = threading.BoundedSemaphore(in_flight or threads * 2)
        self._futures: list[Future] = []
        self._errors: list[BaseException] = []
        self._stop = threading.Event()
        self._silent_since: float | None = None  # first failure of a run of no-answers

    # -- submission ----------------------------------------------------------------------
    def submit(self, items: list[dict], *, conditional: bool = True,
               compare: bool = False) -> None:
        """Queue items in requests of the right size; raises the first write error seen.

        ``compare``: read the stored items first and write (conditionally) only those that
        differ (``write_changed``)."""
        size = TRANSACT_LIMIT if conditional else BATCH_LIMIT
        send = self.write_conditional if conditional else self.write_batch
        if compare:
            size, send = GET_LIMIT, self.write_changed
        for start in range(0, len(items), size):
            self.raise_first_error()
            self._slots.acquire()
            future = self._pool.submit(send, items[start:start + size])
            future.add_done_callback(self._done)
            self._futures.append(future)
        self._futures = [f for f in self._futures if not f.done()]

    def _done(self, future: Future) -> None:
        self._slots.release()
        error = None if future.cancelled() else future.exception()
        if error is not None and not isinstance(error, _Stopped):
            self._errors.append(error)
            self._stop.set()

    def raise_first_error(self) -> None:
        if self._errors:
            raise self._errors[0]

    def wait(self) -> None:
        """Block until every queued write is acknowledged; raise the first failure."""
        for future in list(self._futures):
            if not future.cancelled():
                future.exception()
        self._futures.clear()
        self.raise_first_error()

    def close(self, cancel: bool = False) -> None:
        """Shut the pool down; ``cancel``: drop queued requests and stop retries first.
        Returns once every writer thread has ended."""
        if cancel:
            self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=cancel)

    def _pause(self, delay: float) -> None:
        """Sleep before a retry, unless the writer stops meanwhile."""
        if self._stop.wait(delay):
            raise _Stopped

    # -- the kinds of request ------------------------------------------------------------
    def write_changed(self, items: list[dict]) -> None:
        """Read up to 100 stored items in one BatchGetItem, then write, conditionally, only
        the items that differ from what is stored (``compare.same_item``); the others are
        counted as unchanged. The condition still guards every write: an item that
        changed between the read and the write is never regressed."""
        stored = self.read_stored(items)
        changed = [item for item in items if not same_item(stored.get(item_key(item)), item)]
        self.counters.add(unchanged=len(items) - len(changed))
        if changed:
            self.write_conditional(changed)

    def read_stored(self, items: list[dict]) -> dict[tuple[str, str], dict]:
        """The stored items of ``items``' keys (up to 100), by ``(pk, sk)``; a consistent
        BatchGetItem, UnprocessedKeys read again with backoff."""
        from botocore.exceptions import ClientError

        found: dict[tuple[str, str], dict] = {}
        request = {self.table: {"Keys": [{"pk": item["pk"], "sk": item["sk"]}
                                         for item in items], "ConsistentRead": True}}
        last_code = ""
        for attempt in range(self.max_attempts):
            try:
                answer = self._call(self.client.batch_get_item, 0, RequestItems=request)
            except ClientError as exc:
                last_code = exc.response.get("Error", {}).get("Code") or ""
                if last_code not in RETRYABLE_CODES:
                    raise self._refused(exc, items, "a read") from None
                self._pause(self.retry.delay(attempt))
                continue
            for item in answer.get("Responses", {}).get(self.table, []):
                found[item_key(item)] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
            last_code = "UnprocessedKeys"
            self._pause(self.retry.delay(attempt))
        raise OnlineStoreError(
            f"DynamoDB left keys of table {self.table} unread after {self.max_attempts} "
            f"attempts (last answer: {last_code}); first item {describe(items[0])}. "
            "Nothing of this run is recorded as synced; run `featurestore sync` again."
        )

    def write_conditional(self, items: list[dict]) -> None:
        """One TransactWriteItems of up to 100 conditional puts, until all are settled."""
        from botocore.exceptions import ClientError

        pending = items
        last_code = ""
        for attempt in range(self.max_attempts):
            request = [conditional_put(self.table, item) for item in pending]
            try:
                self._call(self.client.transact_write_items, len(pending),
                           TransactItems=request)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                last_code = error.get("Code") or ""
                if last_code == "TransactionCanceledException":
                    reasons = exc.response.get("CancellationReasons") or []
                    pending, skipped = settle_cancelled(self.table, pending, reasons)
                    self.counters.add(skipped=skipped)
                    if not pending:
                        return
                    self.counters.add(retried=len(pending))
                    if only_stale(reasons):
                        continue  # only stale items blocked the others: re-send at once
                    last_code = blocking_codes(reasons)
                elif last_code in RETRYABLE_CODES:
                    self.counters.add(retried=len(pending))
                else:
                    raise self._refused(exc, pending) from None
                self._pause(self.retry.delay(attempt))
                continue
            self.counters.add(written=len(pending))
            return
        raise OnlineStoreError(
            f"DynamoDB kept refusing {len(pending)} writes to table {self.table} after "
            f"{self.max_attempts} attempts (last answer: {last_code or 'none'}); first item "
            f"{describe(pending[0])}. Nothing of this run is recorded as synced; run "
            "`featurestore sync` again."
        )

    def write_batch(self, items: list[dict]) -> None:
        """Plain BatchWriteItem of up to 25 puts; UnprocessedItems re-sent with backoff."""
        from botocore.exceptions import ClientError

        pending = [{"PutRequest": {"Item": item}} for item in items]
        last_code = ""
        for attempt in range(self.max_attempts):
            try:
                answer = self._call(self.client.batch_write_item, len(pending),
                                    RequestItems={self.table: pending})
            except ClientError as exc:
                last_code = exc.response.get("Error", {}).get("Code") or ""
                if last_code not in RETRYABLE_CODES:
                    raise self._refused(exc, [p["PutRequest"]["Item"] for p in pending]) from None
                self.counters.add(retried=len(pending))
                self._pause(self.retry.delay(attempt))
                continue
            unprocessed = answer.get("UnprocessedItems", {}).get(self.table, [])
            self.counters.add(written=len(pending) - len(unprocessed))
            if not unprocessed:
                return
            pending = unprocessed
            last_code = "UnprocessedItems"
            self.counters.add(retried=len(pending))
            self._pause(self.retry.delay(attempt))
        raise OnlineStoreError(
            f"DynamoDB left {len(pending)} items of table {self.table} unprocessed after "
            f"{self.max_attempts} attempts (last answer: {last_code}); run `featurestore "
            "sync` again."
        )

    def _call(self, operation, count: int, **kwargs):
        """One request of ``count`` items. No answer at all (refused, unreachable, dropped,
        timed out) is re-sent only while the store has been silent for less than
        ``unreachable_seconds``, then StoreUnavailable; an answer, even a refusal, goes to
        the caller, which knows what it means."""
        attempt = 0
        while True:
            if self._stop.is_set():
                raise _Stopped
            try:
                answer = operation(**kwargs)
            except Exception as exc:
                if not is_unreachable(exc):
                    self._silent_since = None
                    raise
                now = time.monotonic()
                since = self._silent_since
                if since is None:
                    self._silent_since = since = now
                if now - since >= self.unreachable_seconds:
                    raise StoreUnavailable(
                        unreachable_message(self.client, self.table, exc)) from None
                self.counters.add(retried=count)
                self._pause(backoff_delay(attempt, self.retry.base_delay, 1.0))
                attempt += 1
                continue
            self._silent_since = None
            return answer

    def _refused(self, exc, items: list[dict], what: str = "a write") -> OnlineStoreError:
        return OnlineStoreError(
            f"table {self.table}: DynamoDB refused {what} ({exc}); first item "
            f"{describe(items[0])}"
        )

