"""Reading items from DynamoDB within a deadline: BatchGetItem, projection, retries.

The reads of ``DynamoDBStore.get`` and ``ping`` (``online/dynamodb.py``); a store opened
``for_lookup`` gives its reader a client that cannot outlast the deadline.

A lookup has a latency budget, so the reader owns the retry policy instead of botocore
(clients are made with one attempt and tight timeouts): throttling, transient network
errors and ``UnprocessedKeys`` are retried with jittered exponential backoff until the
deadline, and then the reader gives up with ``StoreUnavailable`` so the caller can serve
defaults. Unprocessed keys are never dropped silently (Feast does).

A connection that cannot be made at all (refused: nothing listens on the port; no route
to the host; a name that does not resolve) is not retried: waiting out the deadline would
not bring the store back, only make every degraded answer as slow as the budget allows.
"""

from __future__ import annotations

import time

from featurestore.errors import StoreUnavailable
from featurestore.online.retry import RETRYABLE_CODES, backoff_delay

BATCH_LIMIT = 100  # BatchGetItem's maximum number of keys per call
HEALTH_PK = "_featurestore#health"  # the key `ping` reads; never written


def cannot_connect(exc: BaseException) -> bool:
    """Whether botocore could not open a connection at all (EndpointConnectionError:
    refused, unreachable, unresolvable), as opposed to a timeout or a dropped connection,
    which a retry within the deadline may get past."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    return isinstance(exc, EndpointConnectionError) and not isinstance(
        exc, ConnectTimeoutError)


class DynamoReader:
    """Batch reads of ``(pk, sk)`` items from one table, bounded by ``deadline_s``."""

    def __init__(self, client, table: str, *, deadline_s: float = 0.25,
                 consistent_read: bool = False, base_backoff_s: float = 0.002):
        self.client = client
        self.table = table
        self.deadline_s = deadline_s
        self.consistent_read = consistent_read
        self.base_backoff_s = base_backoff_s
        self.unprocessed_retries = 0  # how often UnprocessedKeys came back (for tests, metrics)

    def get(self, keys: list[tuple[str, str]], attributes: list[str], *,
            consistent: bool | None = None) -> dict:
        """``{(pk, sk): item}`` of the items that exist; StoreUnavailable past the deadline.

        ``consistent``: a strongly consistent read whatever the reader's default (the
        serving pointers are read so, to bound how late a promotion is seen)."""
        from botocore.exceptions import BotoCoreError, ClientError

        names = {f"#a{i}": name for i, name in enumerate(["pk", "sk", "feature_ts",
                                                          *attributes])}
        projection = ", ".join(names)
        pending = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys]
        found: dict[tuple[str, str], dict] = {}
        deadline = time.monotonic() + self.deadline_s
        attempt = 0
        while pending:
            batch, pending = pending[:BATCH_LIMIT], pending[BATCH_LIMIT:]
            request = {"Keys": batch, "ProjectionExpression": projection,
                       "ExpressionAttributeNames": names}
            if self.consistent_read if consistent is None else consistent:
                request["ConsistentRead"] = True
            try:
                answer = self.client.batch_get_item(RequestItems={self.table: request})
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in RETRYABLE_CODES:
                    raise StoreUnavailable(f"DynamoDB refused the read: {code}: {exc}") from None
                pending = batch + pending
                attempt = self._backoff(attempt, deadline, f"DynamoDB kept answering {code}")
                continue
            except BotoCoreError as exc:
                if cannot_connect(exc):
                    raise StoreUnavailable(f"DynamoDB is unreachable: {exc}") from None
                pending = batch + pending
                attempt = self._backoff(attempt, deadline, f"DynamoDB is unreachable: {exc}")
                continue
            for item in answer.get("Responses", {}).get(self.table, ()):
                found[(item["pk"]["S"], item["sk"]["S"])] = item
            unprocessed = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys")
            if unprocessed:
                self.unprocessed_retries += 1
                pending = list(unprocessed) + pending
                attempt = self._backoff(attempt, deadline, f"{len(pending)} keys still "
                                        "unprocessed by DynamoDB at the deadline")
        return found

    def ping(self) -> None:
        """One GetItem of a key no item has, within the deadline (a health check: it costs
        half a read unit, and needs only the read permission the lookup has anyway);
        StoreUnavailable when DynamoDB does not answer or refuses."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.get_item(TableName=self.table, Key={"pk": {"S": HEALTH_PK},
                                                            "sk": {"S": HEALTH_PK}},
                                 ProjectionExpression="pk")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise StoreUnavailable(f"DynamoDB refused the read: {code}: {exc}") from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"DynamoDB is unreachable: {exc}") from None

    def _backoff(self, attempt: int, deadline: float, problem: str) -> int:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StoreUnavailable(f"{problem} (deadline {self.deadline_s * 1000:.0f} ms)")
        pause = min(remaining, backoff_delay(attempt, self.base_backoff_s, remaining))
        time.sleep(pause)
        if time.monotonic() >= deadline:
            raise StoreUnavailable(f"{problem} (deadline {self.deadline_s * 1000:.0f} ms)")
        return attempt + 1
