"""How long one TransactWriteItems of the sync waits on DynamoDB Local, by the number of
requests in flight: why ``bench/sync.py --workers 4`` ran into the 5 s read timeout.

    python bench/sync_latency.py [--requests-per-thread 5] [--in-flight 8,16,32]

Each thread sends TransactWriteItems of 100 conditional puts of 10 features (the sync's
conditional request: ``online/writer.py``'s TRANSACT_LIMIT, the never-regress condition)
into a fresh table of an in-memory DynamoDB Local, one request at a time, on a client
that waits 120 s, so no request times out. ``--in-flight 32`` is what 4 workers x 8
writer threads keep outstanding. It prints the items a second and each request's wait
(p50, p90, max) and how many waited longer than the sync's 5 s read timeout. A server
that answers requests one after the other makes each wait about (requests in flight x
100 items) / (items a second), whatever the client.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurestore.online.client import ensure_table  # noqa: E402
from featurestore.online.config import OnlineConfig  # noqa: E402
from featurestore.online.local import LocalDynamoDB  # noqa: E402

CONDITION = "attribute_not_exists(pk) OR feature_ts < :ts"


def item(user: int, ts: int) -> dict:
    features = {f"f{k}": {"N": str(user * (k + 1))} for k in range(10)}
    return {"pk": {"S": f"user#{user}"}, "sk": {"S": "latency#v1"},
            "feature_ts": {"N": str(ts)}, "written_at": {"N": str(ts)}, **features}


def measure(config: OnlineConfig, table: str, threads: int, per_thread: int) -> str:
    client = config.client(read_timeout=120, max_attempts=1,
                           max_pool_connections=threads + 4)
    waits: list[float] = []
    lock = threading.Lock()

    def send(thread: int) -> None:
        for request in range(per_thread):
            first = (thread * per_thread + request) * 100
            puts = [{"Put": {"TableName": table, "Item": item(first + n, 1_000),
                             "ConditionExpression": CONDITION,
                             "ExpressionAttributeValues": {":ts": {"N": "1000"}}}}
                    for n in range(100)]
            started = time.perf_counter()
            client.transact_write_items(TransactItems=puts)
            with lock:
                waits.append(time.perf_counter() - started)

    started = time.perf_counter()
    senders = [threading.Thread(target=send, args=(t,)) for t in range(threads)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    wall = time.perf_counter() - started
    waits.sort()
    count = len(waits)
    return (f"{threads} in flight: {count * 100 / wall:,.0f} items/s; request p50 "
            f"{waits[count // 2]:.2f} s, p90 {waits[int(count * 0.9)]:.2f} s, max "
            f"{waits[-1]:.2f} s; over 5 s: {sum(w > 5 for w in waits)} of {count} "
            f"(load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-thread", type=int, default=5)
    parser.add_argument("--in-flight", default="8,16,32")
    args = parser.parse_args()
    with LocalDynamoDB(ROOT) as endpoint:
        config = OnlineConfig(endpoint=endpoint)
        admin = config.client()
        for threads in (int(n) for n in args.in_flight.split(",")):
            table = f"latency_{threads}"
            ensure_table(admin, table, ttl=False)
            print(measure(config, table, threads, args.requests_per_thread), flush=True)
            admin.delete_table(TableName=table)


if __name__ == "__main__":
    main()
