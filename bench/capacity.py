"""The capacity model of docs/scale.md, as code a reader can rerun.

    python bench/capacity.py                 # measure item sizes and the cache, print the tables
    python bench/capacity.py --no-cache-sim  # the tables from the recorded hit rates (fast)

Every number comes from three kinds of input, kept apart below so that each can be checked:

- MEASURED: figures measured on this repository (the README's benchmark tables, with the
  machine's load when they were taken), and item sizes measured here by the codec
  (``featurestore/online/items.py``) on the demo's views and on synthetic views;
- LIMITS: DynamoDB's and Lambda's documented rules and default quotas;
- PRICES: list prices, each with where it was read and the date of that page.

The arithmetic is in small functions (``read_units``, ``write_units``, ``lambda_concurrency``,
``concurrency_quota``, ``ramp_seconds``, ``sync_workers``, ``hot_item_reads``, ``monthly_cost``
...) that tests/core/test_capacity_model.py checks against a hand-worked example.
Prints Markdown tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # bench/lookup_fleet.py imports lookup_data beside it

from bench.capacity_inputs import LIMITS, MEASURED, PRICES, WORKLOAD  # noqa: E402


# -- the unit rules --------------------------------------------------------------------------
def read_units(item_bytes: int, consistent: bool = False) -> float:
    """Read request units of reading one item: one unit per 4 KB (rounded up) strongly
    consistent, half that eventually consistent. DynamoDB charges the whole item's size,
    whatever a ProjectionExpression returns."""
    blocks = max(1, math.ceil(item_bytes / LIMITS["read_unit_bytes"]))
    return blocks * (1.0 if consistent else 0.5)


def write_units(item_bytes: int, transactional: bool = False) -> int:
    """Write request units of writing one item: one per 1 KB (rounded up); a transactional
    write (TransactWriteItems, the sync's conditional path) costs two."""
    blocks = max(1, math.ceil(item_bytes / LIMITS["write_unit_bytes"]))
    return blocks * (2 if transactional else 1)


def batch_get_calls(items: int, item_bytes: int) -> int:
    """BatchGetItem calls to read ``items`` items: at most 100 keys and 16 MB a call."""
    per_call = min(LIMITS["batch_get_items"], LIMITS["batch_get_bytes"] // max(1, item_bytes))
    return math.ceil(items / per_call)


def batch_write_calls(items: int, transactional: bool) -> int:
    """BatchWriteItem (25 puts a call) or TransactWriteItems (100 actions) calls."""
    per_call = LIMITS["transact_items"] if transactional else LIMITS["batch_write_items"]
    return math.ceil(items / per_call)


# -- the lookup fleet ----------------------------------------------------------------------
def lambda_concurrency(requests_per_s: float, seconds_per_request: float) -> int:
    """Containers busy at once (Little's law): each Lambda container runs one request at a
    time, so concurrency = arrival rate x time in the handler (rounded to a millionth
    first, so that a float's last bit does not add a container)."""
    return math.ceil(round(requests_per_s * seconds_per_request, 6))


def concurrency_quota(requests_per_s: float, containers: int) -> int:
    """The concurrency quota a function must have to take ``requests_per_s``: the
    containers busy at once, and at least a tenth of the rate, since Lambda admits at most
    10 requests a second per unit of concurrency whatever the duration (LIMITS)."""
    return max(containers, math.ceil(requests_per_s / LIMITS["lambda_rps_per_concurrency"]))


def ramp_seconds(requests_per_s: float, containers: int) -> int:
    """Seconds for one function to scale from zero to ``containers`` serving
    ``requests_per_s``: each 10 s adds at most 1,000 environments or 10,000 requests a
    second, whichever binds first."""
    steps = max(containers / LIMITS["lambda_scale_per_10s"],
                requests_per_s / (LIMITS["lambda_scale_per_10s"]
                                  * LIMITS["lambda_rps_per_concurrency"]))
    return math.ceil(round(steps, 6)) * 10


def zipf_head_share(exponent: float, n: int) -> float:
    """The share of a Zipf(``exponent``) stream over ranks 1..n that asks for rank 1:
    1 / H(n, s), the harmonic number summed exactly to 10^5 and by its integral past it."""
    exact = min(n, 100_000)
    total = sum(k ** -exponent for k in range(1, exact + 1))
    if n > exact:  # integral of x^-s from exact + 1/2 to n + 1/2 (midpoint rule)
        a, b = exact + 0.5, n + 0.5
        total += math.log(b / a) if exponent == 1.0 else (
            (b ** (1 - exponent) - a ** (1 - exponent)) / (1 - exponent))
    return 1.0 / total


def hot_item_reads(requests_per_s: float, head_share: float, containers: int,
                   cache_ttl_s: float | None) -> float:
    """DynamoDB reads a second of the hottest item. Without a cache every request reads it;
    with the lookup's cache each container reads an item at most once per TTL, so the
    table sees at most ``containers / ttl`` reads of it, whatever the traffic."""
    uncached = requests_per_s * head_share
    if not cache_ttl_s:
        return uncached
    return min(uncached, containers / cache_ttl_s)


def cache_hit_rate(exponent: float, requests_per_s: float, entities: int,
                   seconds: float = 10.0) -> float:
    """The lookup's own cache (lookup/cache.py, its defaults: 100,000 entries, 1 s TTL) fed
    a Zipf key stream at ``requests_per_s`` reaching one container, on a simulated clock:
    the share of reads it answers. bench/lookup.py's figure is per request of 3 items at
    100 to 10,000 requests a second; this one is per item, at a Lambda container's rate."""
    from bench.lookup_fleet import zipf_ranks  # the same key stream as bench/lookup.py's
    from featurestore.contracts import Feature
    from featurestore.lookup.cache import TTLCache

    clock = {"now": 0.0}
    cache = TTLCache(clock=lambda: clock["now"])
    features = (Feature("f", "int64", "internal", "x"),)
    count = int(requests_per_s * seconds)
    for index, rank in enumerate(zipf_ranks(random.Random(7), count, exponent, entities)):
        clock["now"] = index / requests_per_s
        key = (f"user#{rank}", "view#v1")
        if cache.get(key, features) is None:
            cache.put(key, features, (0, {"f": 0}))
    return cache.hits / (cache.hits + cache.misses)


# -- the sync ------------------------------------------------------------------------------
def sync_workers(items: int, window_s: float, items_per_s_per_worker: float) -> int:
    """Workers to write ``items`` within ``window_s`` at a measured rate per worker."""
    return math.ceil(items / (window_s * items_per_s_per_worker))


def partitions_for(table_bytes: float, read_units_per_s: float,
                   write_units_per_s: float) -> int:
    """Partitions a table needs at the least: 10 GB each, 3,000 RCU and 1,000 WCU each."""
    return max(math.ceil(table_bytes / LIMITS["partition_bytes"]),
               math.ceil(read_units_per_s / LIMITS["partition_rcu"]),
               math.ceil(write_units_per_s / LIMITS["partition_wcu"]))


# -- money ---------------------------------------------------------------------------------
SECONDS_A_MONTH = 730 * 3600  # AWS bills a month as 730 hours


def monthly_cost(*, read_units_per_s: float, write_units_month: float, table_gb: float,
                 requests_per_s: float, lambda_seconds: float, lambda_gb: float) -> dict:
    """Dollars a month at the PRICES: DynamoDB on demand (reads, writes, storage), Lambda
    (requests, GB-seconds on arm64) and the HTTP API in front of it."""
    requests = requests_per_s * SECONDS_A_MONTH
    costs = {
        "dynamodb_reads": read_units_per_s * SECONDS_A_MONTH / 1e6 * PRICES["rru_million"][0],
        "dynamodb_writes": write_units_month / 1e6 * PRICES["wru_million"][0],
        "dynamodb_storage": table_gb * PRICES["storage_gb_month"][0],
        "lambda_requests": requests / 1e6 * PRICES["lambda_request_million"][0],
        "lambda_duration": requests * lambda_seconds * lambda_gb
        * PRICES["lambda_gb_second_arm"][0],
        "http_api": http_api_cost(requests),
    }
    costs["total"] = sum(costs.values())
    return costs


def http_api_cost(requests: float) -> float:
    """API Gateway HTTP API, tiered: $1.00/M to 300M, $0.90/M to 1B, $0.80/M past it."""
    tiers = [(300e6, PRICES["http_api_million_300m"][0]),
             (700e6, PRICES["http_api_million_1b"][0]),
             (math.inf, PRICES["http_api_million_over"][0])]
    cost, left = 0.0, requests
    for size, price in tiers:
        taken = min(left, size)
        cost += taken / 1e6 * price
        left -= taken
    return cost


def main() -> None:
    from bench.capacity_report import report

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-cache-sim", action="store_true",
                        help="use the recorded cache hit rates instead of simulating")
    args = parser.parse_args()
    print(report(simulate_cache=not args.no_cache_sim, workload=WORKLOAD, measured=MEASURED))


if __name__ == "__main__":
    main()
