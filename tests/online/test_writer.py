"""The writer's retries: backoff bounds, UnprocessedItems re-sent until written, and a
store that does not answer given up within seconds."""

from __future__ import annotations

import threading
import time

import pytest

from featurestore.errors import StoreUnavailable
from featurestore.online.config import OnlineConfig
from featurestore.online.items import encode_item
from featurestore.online.local import free_port
from featurestore.online.retry import RetryPolicy
from featurestore.online.writer import backoff_delay
from tests.online.conftest import T0, TXNS, dynamodb_items
from tests.online_stores import UnprocessingClient, store_for


def test_backoff_is_exponential_with_full_jitter_and_capped():
    highest = lambda low, high: high  # noqa: E731
    assert [backoff_delay(a, 0.05, 1.0, rng=highest) for a in range(6)] == [
        0.05, 0.1, 0.2, 0.4, 0.8, 1.0]
    assert backoff_delay(3, 0.05, 1.0, rng=lambda low, high: low) == 0.0


def test_unprocessed_items_are_retried_until_written(dynamodb_table):
    client, table = dynamodb_table
    items = [encode_item(TXNS, {"user_id": u, "feature_ts": T0, "last_txn_amount": 1.0}, 1)
             for u in range(1, 11)]
    writer = store_for(UnprocessingClient(client, leave=4, times=2), table,
                       retry=RetryPolicy(base_delay=0.001)).writer(threads=1)
    writer.submit(items, conditional=False)
    writer.wait()
    writer.close()
    assert (writer.counters.written, writer.counters.retried) == (10, 8)  # 4 twice
    online = dynamodb_items(client, table, TXNS)
    assert sorted(online) == sorted(f"user#{u}" for u in range(1, 11))
    assert {ts for ts, _, _ in online.values()} == {T0}


def test_writer_gives_up_on_a_refused_connection_within_seconds():
    """Nothing listens on the port: not throttling, so not a minute of retries."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    client = OnlineConfig(endpoint=endpoint).client(max_attempts=1)
    items = [encode_item(TXNS, {"user_id": u, "feature_ts": T0}, 1) for u in range(1, 1001)]
    for conditional in (True, False):
        writer = store_for(client, "fs_nowhere").writer(threads=2)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as error:
            writer.submit(items, conditional=conditional)
            writer.wait()
        writer.close(cancel=True)
        # 5 s of silence (retry.UNREACHABLE_SECONDS), then the stop; without the silence
        # rule a refused connection is retried for ever: a deadline, not a speed
        assert time.monotonic() - started < 180
        assert str(error.value).startswith(
            f"DynamoDB at {endpoint} (table fs_nowhere) does not answer (Could not connect")
        assert [t.name for t in threading.enumerate() if t.name.startswith("fs-sync")] == []


@pytest.mark.parametrize(
    ("stored", "same"),
    [
        ({"written_at": {"N": "5"}}, True),  # only the time of the write differs
        ({"last_txn_amount": {"N": "1.50"}}, True),  # a number as DynamoDB may return it
        ({"last_txn_amount": {"N": "1.25"}}, False),
        ({"last_txn_amount": {"S": "1.5"}}, False),
        ({"stray": {"S": "x"}}, False),  # an attribute the row does not have
        ({"expires_at": None}, False),  # an attribute the item lacks
    ],
)
def test_an_item_is_the_same_only_when_every_attribute_but_written_at_is(stored, same):
    from featurestore.online.compare import same_item

    wanted = encode_item(TXNS, {"user_id": 1, "feature_ts": T0, "last_txn_amount": 1.5}, 1)
    item = {**wanted, **stored}
    assert same_item({k: v for k, v in item.items() if v is not None}, wanted) is same
    assert same_item(None, wanted) is False
