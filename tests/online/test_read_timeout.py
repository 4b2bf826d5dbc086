"""A store that takes a request and never answers (a listening socket nobody reads: the
kernel accepts the connection, the request is sent, no answer comes) is told apart from
one that cannot be reached: the sync's error says it is busy or stalled, and what to
change (bench/sync_workers.py: 4 workers x 8 threads of TransactWriteItems queue longer
than the read timeout on DynamoDB Local)."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from featurestore.errors import StoreUnavailable
from featurestore.online.config import OnlineConfig
from featurestore.online.dynamodb import DynamoDBStore
from featurestore.online.items import encode_item
from tests.online.conftest import T0, TXNS, txn_row

COLUMNS = ["user_id", "feature_ts", "loaded_at", *TXNS.feature_names]


def test_a_store_that_takes_writes_but_does_not_answer_is_called_busy():
    row = dict(zip(COLUMNS, txn_row(1, T0, T0 + dt.timedelta(minutes=5)), strict=True))
    with socket.create_server(("127.0.0.1", 0)) as listener:  # never accept()ed
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        config = OnlineConfig(endpoint=endpoint, table="fs_busy", read_timeout=0.3)
        writer = DynamoDBStore.for_sync(config, threads=1).writer(threads=1)
        try:
            with pytest.raises(StoreUnavailable) as error:
                writer.submit([encode_item(TXNS, row, 1)], conditional=True, compare=False)
                writer.wait()
        finally:
            writer.close(cancel=True)
    assert str(error.value) == (
        f"DynamoDB at {endpoint} (table fs_busy) took the request but gave no answer within "
        f'its read timeout of 0.3 s (Read timeout on endpoint URL: "{endpoint}/"): it is '
        "overloaded or stalled. Send it fewer requests at once (a sync's --threads and "
        "--workers), then run the command again.")
