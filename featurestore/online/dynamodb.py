"""``DynamoDBStore``: the online store (``online/store.py``) in DynamoDB, and the one place
featurestore calls DynamoDB.

Every request of the code base is made here or in the modules this one drives: items
within a deadline (``reader.py``), the conditional writer threads (``writer.py``, the
never-regress rule in ``condition.py``), the table itself (``client.py``); the markers,
the serving pointers and the batched deletes are below. DynamoDB Local's process is run
by ``local.py``. boto3 and botocore are imported only when a store is opened, so the CLI's
help and the lookup's cold start pay for them once, when they need them.

A store is opened for its use, which sets its client's timeouts and pool and its
deadline: ``open`` for a command (a default client; reads may take ``deadline_s``, 10 s),
``for_lookup`` (one attempt per request, a connect timeout of 0.2 s, reads within the
lookup's deadline, the reader retrying inside it) and ``for_sync`` (one attempt per
request, a pool as large as the writer threads, no client-side shape check: the items
are checked by ``items.py``). All follow one ``RetryPolicy`` (``retry.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence

from featurestore.errors import OnlineStoreError, StoreUnavailable
from featurestore.online import client as table_ops
from featurestore.online.config import OnlineConfig
from featurestore.online.retry import LOOKUP_RETRY, RETRYABLE_CODES, RetryPolicy, is_unreachable
from featurestore.online.serving import Pointer, PointerChanged, decode_pointer, pointer_key
from featurestore.online.serving import encode_pointer as _encode_pointer
from featurestore.online.store import MARKER_PK, Fields, Key

COMMAND_DEADLINE_S = 10.0  # a command's reads (the parity gate's) can wait longer
GET_LIMIT = 100  # BatchGetItem's keys per request
WRITE_LIMIT = 25  # BatchWriteItem's requests per call
DEFAULT_RETRY = RetryPolicy()


class DynamoDBStore:
    """One feature table in DynamoDB (AWS, or the endpoint the config names)."""

    def __init__(self, config: OnlineConfig, *, client=None,
                 deadline_s: float = COMMAND_DEADLINE_S, consistent_read: bool = False,
                 retry: RetryPolicy = DEFAULT_RETRY):
        self.config = config
        self.table = config.table
        self.client = client if client is not None else config.client()
        self.deadline_s = deadline_s
        self.consistent_read = consistent_read
        self.retry = retry
        self._reader = None
        self._lock = threading.Lock()

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, config: OnlineConfig, *, require_credentials: bool = False) -> DynamoDBStore:
        """The store for a command: the config's client, reads within 10 s.

        ``require_credentials``: StoreUnavailable at once when the store is AWS and no
        credentials are found (botocore would look for them again at every request,
        each time through the instance metadata service, for a minute in all)."""
        if require_credentials and config.is_aws:
            import boto3

            if boto3.Session(region_name=config.region).get_credentials() is None:
                raise StoreUnavailable(
                    f"{config.where()}: no AWS credentials found. Pass --local for the "
                    "DynamoDB Local that `featurestore online start` runs, or set AWS "
                    "credentials")
        return cls(config)

    @classmethod
    def for_lookup(cls, config: OnlineConfig, *, deadline_s: float,
                   consistent_read: bool = False,
                   max_pool_connections: int = 32) -> DynamoDBStore:
        """A store whose reads cannot outlast ``deadline_s``: one attempt per request,
        connect within 0.2 s, read within the deadline; the reader retries inside it."""
        client = config.client(connect_timeout=min(deadline_s, 0.2), read_timeout=deadline_s,
                               max_attempts=1, max_pool_connections=max_pool_connections)
        return cls(config, client=client, deadline_s=deadline_s,
                   consistent_read=consistent_read, retry=LOOKUP_RETRY)

    @classmethod
    def for_sync(cls, config: OnlineConfig, *, threads: int) -> DynamoDBStore:
        """A store for a sync of ``threads`` writer threads (one attempt per request: the
        writer retries; no client-side check of items ``items.py`` built and checked)."""
        client = config.client(max_attempts=1, max_pool_connections=threads + 4,
                               validate_params=False)
        return cls(config, client=client)

    @classmethod
    def over(cls, client, table: str, **options) -> DynamoDBStore:
        """A store over an existing boto3 client (its endpoint names the store)."""
        endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)
        return cls(OnlineConfig(table=table, endpoint=endpoint), client=client, **options)

    # -- the table -----------------------------------------------------------------------
    def where(self) -> str:
        return self.config.where()

    def describe(self) -> str:
        return self.config.describe()

    def errors(self):
        return table_ops.store_errors(self.client, self.table)

    def require_table(self) -> dict:
        """The table's description; OnlineStoreError saying how to create it if missing."""
        with self.errors():
            return table_ops.require_table(self.client, self.table, self.where())

    def store_id(self) -> str:
        return table_ops.store_id(self.client, self.require_table())

    def ensure_table(self, *, ttl: bool = True) -> bool:
        """Create the table if missing (True); check an existing one's key schema."""
        with self.errors():
            return table_ops.ensure_table(self.client, self.table, ttl=ttl)

    def drop_table(self) -> bool:
        """Delete the table and wait until it is gone; False when there was none."""
        with self.errors():
            return table_ops.drop_table(self.client, self.table)

    # -- items ---------------------------------------------------------------------------
    @property
    def reader(self):
        """The deadline-bound reader of ``get`` and ``ping`` (``reader.py``)."""
        if self._reader is None:
            from featurestore.online.reader import DynamoReader

            with self._lock:
                if self._reader is None:
                    self._reader = DynamoReader(
                        self.client, self.table, deadline_s=self.deadline_s,
                        consistent_read=self.consistent_read,
                        base_backoff_s=self.retry.base_delay)
        return self._reader

    def get(self, keys: Sequence[Key], attributes: Sequence[str], *,
            consistent: bool | None = None) -> dict[Key, dict]:
        return self.reader.get(list(keys), list(attributes), consistent=consistent)

    def ping(self) -> None:
        self.reader.ping()

    def writer(self, *, threads: int = 8):
        from featurestore.online.writer import Writer

        return Writer(self.client, self.table, threads=threads, retry=self.retry)

    # -- markers and claims --------------------------------------------------------------
    def read_markers(self, names: Sequence[str]) -> dict[str, dict[str, str | int]]:
        found = self._read_items([(MARKER_PK, name) for name in names])
        return {sk: _plain(item) for (_pk, sk), item in found.items()}

    def put_marker(self, name: str, fields: Fields, *, absent: bool = False,
                   expect: Fields | None = None) -> bool:
        item = {"pk": {"S": MARKER_PK}, "sk": {"S": name}, **_attributes(fields)}
        condition: dict = {}
        if absent:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        elif expect:
            names = {f"#e{i}": field for i, field in enumerate(expect)}
            condition = {
                "ConditionExpression": " AND ".join(f"#e{i} = :e{i}" for i in range(len(names))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {f":e{i}": value for i, value in enumerate(
                    _attributes(expect).values())}}
        return self._put(item, condition)

    def delete_markers(self, names: Sequence[str]) -> None:
        with self.errors():
            for name in names:
                self.client.delete_item(TableName=self.table,
                                        Key={"pk": {"S": MARKER_PK}, "sk": {"S": name}})

    # -- the serving pointer -------------------------------------------------------------
    def read_pointers(self, views: Sequence[str]) -> dict[str, Pointer]:
        found = self._read_items([_key_of(pointer_key(view)) for view in views])
        return {view: decode_pointer(view, found.get(_key_of(pointer_key(view))))
                for view in views}

    def write_pointer(self, pointer: Pointer, expected: Pointer) -> None:
        if expected.event_id is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {"ConditionExpression": "event_id = :expected",
                         "ExpressionAttributeValues": {":expected": {"S": expected.event_id}}}
        if not self._put(_encode_pointer(pointer), condition):
            raise PointerChanged(pointer.view)

    # -- deletes in batches --------------------------------------------------------------
    def entity_items(self, pk: str) -> list[str]:
        request = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                   "ExpressionAttributeValues": {":pk": {"S": pk}},
                   "ProjectionExpression": "pk, sk", "ConsistentRead": True}
        return [sk for page in self._pages(self.client.query, request) for _pk, sk in page]

    def version_items(self, sk: str) -> Iterator[list[Key]]:
        request = {"TableName": self.table, "FilterExpression": "sk = :sk",
                   "ExpressionAttributeValues": {":sk": {"S": sk}},
                   "ProjectionExpression": "pk, sk", "ConsistentRead": True}
        yield from self._pages(self.client.scan, request)

    def delete_items(self, keys: Sequence[Key]) -> None:
        """BatchWriteItem DeleteRequests, 25 at a time, unprocessed ones retried."""
        keys = list(keys)
        for start in range(0, len(keys), WRITE_LIMIT):
            requests = [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}}
                        for pk, sk in keys[start:start + WRITE_LIMIT]]
            self._retrying("deletes", len(requests), lambda pending: (
                self.client.batch_write_item(RequestItems={self.table: pending})
                .get("UnprocessedItems", {}).get(self.table)), requests)

    # -- the requests themselves ---------------------------------------------------------
    def _read_items(self, keys: list[Key]) -> dict[Key, dict]:
        """Whole items of ``keys``, a consistent BatchGetItem of 100 keys at a time,
        UnprocessedKeys read again per the retry policy."""
        found: dict[Key, dict] = {}

        def read(pending: list[dict]) -> list[dict] | None:
            answer = self.client.batch_get_item(
                RequestItems={self.table: {"Keys": pending, "ConsistentRead": True}})
            for item in answer.get("Responses", {}).get(self.table, ()):
                found[(item["pk"]["S"], item["sk"]["S"])] = item
            return answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys")

        for start in range(0, len(keys), GET_LIMIT):
            self._retrying("reads", len(keys[start:start + GET_LIMIT]), read, [
                {"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[start:start + GET_LIMIT]])
        return found

    def _retrying(self, what: str, count: int, send, pending: list) -> None:
        """Send ``pending`` until nothing is left unprocessed: ``send`` returns what the
        answer left; retryable errors and leftovers wait per the retry policy, a store
        that does not answer for ``unreachable_seconds`` is StoreUnavailable."""
        from botocore.exceptions import ClientError

        silent_since, last = None, ""
        with self.errors():
            for attempt in range(self.retry.max_attempts):
                try:
                    pending = send(pending)
                except ClientError as exc:
                    last = exc.response.get("Error", {}).get("Code", "")
                    if last not in RETRYABLE_CODES:
                        raise
                except Exception as exc:
                    if not is_unreachable(exc):
                        raise
                    silent_since = silent_since or time.monotonic()
                    if time.monotonic() - silent_since >= self.retry.unreachable_seconds:
                        raise
                    last = "no answer"
                else:
                    silent_since, last = None, "unprocessed"
                    if not pending:
                        return
                time.sleep(self.retry.delay(attempt))
        raise OnlineStoreError(
            f"table {self.table}: DynamoDB left {what} of {count} keys undone after "
            f"{self.retry.max_attempts} attempts (last answer: {last}); run the command "
            "again: it starts over or resumes where this one stopped.")

    def _put(self, item: dict, condition: dict) -> bool:
        """One PutItem; False when its condition refused it."""
        from botocore.exceptions import ClientError

        with self.errors():
            try:
                self.client.put_item(TableName=self.table, Item=item, **condition)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                return False
        return True

    def _pages(self, operation, request: dict) -> Iterator[list[Key]]:
        """The keys of each page of a Query or a Scan."""
        request = dict(request)
        while True:
            with self.errors():
                page = operation(**request)
            yield [(item["pk"]["S"], item["sk"]["S"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _key_of(key: dict) -> Key:
    return key["pk"]["S"], key["sk"]["S"]


def _attributes(fields: Mapping[str, str | int]) -> dict[str, dict]:
    """A marker's plain fields as DynamoDB attributes: text S, whole numbers N."""
    attributes = {}
    for name, value in fields.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"marker field `{name}`: text or a whole number, not {value!r}")
        attributes[name] = {"S": value} if isinstance(value, str) else {"N": str(value)}
    return attributes


def _plain(item: dict) -> dict[str, str | int]:
    """A marker item's fields (its key aside) as plain text and whole numbers."""
    return {name: value["S"] if "S" in value else int(value["N"])
            for name, value in item.items() if name not in ("pk", "sk")
            and ("S" in value or "N" in value)}

