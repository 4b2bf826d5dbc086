"""The lookup fleet, the sync, the daily build and the monthly bill of the capacity model
(bench/capacity.py), each a list of Markdown paragraphs and tables."""

from __future__ import annotations

import math

from bench.capacity import (
    concurrency_quota,
    hot_item_reads,
    lambda_concurrency,
    monthly_cost,
    partitions_for,
    ramp_seconds,
    read_units,
    sync_workers,
    write_units,
    zipf_head_share,
)
from bench.capacity_inputs import LIMITS, PRICES, SNOWFLAKE_CREDITS_PER_HOUR

LAMBDA_GB = 1.0  # deploy/template.yaml: MemorySize 1024, arm64
CACHE_TTL_S = 1.0  # FEATURESTORE_LOOKUP_CACHE_TTL_MS's default
TB = 1e12


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def container_rate(measured: dict) -> int:
    """Requests a second one Lambda container can take: one at a time, each for the
    measured single-key p50; the cache's hit rate is simulated at the nearest rate."""
    return 500 if 1 / measured["lambda_single_p50_s"] < 1_000 else 2_000


# (keys a request, the MEASURED names of its p50 and p99 in the Lambda handler)
REQUEST_SHAPES = ((1, "lambda_single_p50_s", "lambda_single_p99_s"),
                  (100, "lambda_batch100_p50_s", "lambda_batch100_p99_s"))


def fleet_section(workload: dict, measured: dict, shapes: list[dict], hits: dict) -> list:
    rows = []
    for rate in workload["reads_per_s"]:
        for keys, p50, p99 in REQUEST_SHAPES:
            requests = rate / keys
            for label, name in (("p50", p50), ("p99", p99)):
                seconds = measured[name]
                containers = lambda_concurrency(requests, seconds)
                by_rate = math.ceil(requests / LIMITS["lambda_rps_per_concurrency"])
                quota = concurrency_quota(requests, containers)
                rows.append([f"{rate:,}", keys, f"{requests:,.0f}",
                             f"{label} {seconds * 1000:.2f} ms", f"{containers:,}",
                             f"{by_rate:,}", f"{quota:,}",
                             f"{quota / LIMITS['lambda_concurrency_default']:.1f}x",
                             f"{ramp_seconds(requests, containers)} s"])
    parts = ["## The lookup fleet",
             table(["reads/s", "keys a request", "requests/s",
                    "time a request (measured in process)", "containers busy (rate x time)",
                    "requests/s / 10", "concurrency quota needed",
                    "of the 1,000 default quota", "ramp from zero"], rows)]
    per_container = container_rate(measured)
    read_rows = []
    for rate in workload["reads_per_s"]:
        for shape in shapes:
            for exponent in sorted(hits):
                hit = hits[exponent][per_container]
                rru = rate * shape["rru"] * (1 - hit)
                read_rows.append([
                    f"{rate:,}", shape["features"], exponent, f"{hit:.1%}", f"{rru:,.0f}",
                    f"{rru / LIMITS['table_rru_default']:.1f}x",
                    f"{math.ceil(rru / LIMITS['partition_rcu']):,}"])
    parts += [f"Cache hit rate at {per_container:,} requests/s a container (one request "
              "at a time at the single-key p50), simulated over a Zipf stream of "
              f"{workload['entities']:,} keys, 1 s TTL, 100,000 entries:",
              table(["reads/s", "features", "Zipf s", "cache hits", "RRU/s to DynamoDB",
                     "of the 40,000 table quota", "partitions for reads"], read_rows)]
    parts += hot_key_rows(workload, measured, shapes)
    return parts


def hot_key_rows(workload: dict, measured: dict, shapes: list[dict]) -> list:
    rows = []
    rate = max(workload["reads_per_s"])
    containers = lambda_concurrency(rate, measured["lambda_single_p50_s"])
    item = shapes[0]["item_bytes"]
    for exponent in (0.8, 1.0, 1.2):
        share = zipf_head_share(exponent, workload["entities"])
        bare = hot_item_reads(rate, share, containers, None)
        cached = hot_item_reads(rate, share, containers, CACHE_TTL_S)
        rows.append([exponent, f"{share:.2%}", f"{bare:,.0f}",
                     f"{bare * read_units(item):,.0f}", f"{cached:,.0f}",
                     f"{cached * read_units(item):,.0f}"])
    return [f"The hottest key at {rate:,} reads/s ({containers:,} containers, 1 s cache TTL; "
            f"a partition serves at most {LIMITS['partition_rcu']:,} RCU):",
            table(["Zipf s", "share of requests", "reads/s, no cache", "RCU/s, no cache",
                   "reads/s, cache", "RCU/s, cache"], rows)]


def sync_section(workload: dict, measured: dict, sizes: dict) -> list:
    rows = []
    item = sizes[f"synthetic_{workload['features_per_view']}"]["bytes"]
    for features in workload["features_per_request"]:
        items = workload["entities"] * math.ceil(features / workload["features_per_view"])
        for hours in workload["refresh_windows_h"]:
            window = hours * 3600
            for label, rate, transactional in (
                    ("first load", measured["sync_first_load_items_s"], False),
                    ("conditional", measured["sync_conditional_items_s"], True)):
                wru = items / window * write_units(item, transactional)
                rows.append([features, f"{items / 1e6:,.0f}M", f"{hours} h", label,
                             f"{rate:,}", sync_workers(items, window, rate),
                             f"{wru:,.0f}", f"{wru / LIMITS['table_wru_default']:.1f}x",
                             f"{math.ceil(wru / LIMITS['partition_wcu']):,}"])
    table_bytes = {f: workload["entities"] * math.ceil(f / workload["features_per_view"]) * item
                   for f in workload["features_per_request"]}
    sizes_line = "; ".join(
        f"{f} features: {b / 1024**3:,.0f} GiB, at least "
        f"{partitions_for(b, 0, 0):,} partitions by size" for f, b in table_bytes.items())
    return ["## The sync: a full refresh of every entity",
            table(["features", "items", "window", "path", "items/s a worker (measured)",
                   "workers", "WRU/s", "of the 40,000 table quota", "partitions for writes"],
                  rows),
            f"Table size: {sizes_line}."]


def build_section(workload: dict, measured: dict) -> list:
    per_core_s = measured["rolling_events"] / measured["rolling_cpu_s"]
    rows = []
    for tb in workload["daily_snapshot_tb"]:
        events = tb * TB / measured["event_parquet_bytes"]
        core_hours = events / per_core_s / 3600
        credits = core_hours / 8  # assumption: a credit-hour does 8 of these core-hours
        rows.append([f"{tb} TB", f"{events / 1e9:,.0f}B", f"{core_hours:,.0f}",
                     f"{credits:,.0f}", f"{credits / SNOWFLAKE_CREDITS_PER_HOUR['XL']:.1f} h",
                     f"${credits * PRICES['snowflake_credit'][0]:,.0f}"])
    return ["## The daily build",
            f"Measured: {per_core_s:,.0f} events a core-second (the rolling-window build, "
            f"{measured['rolling_events']:,} events in {measured['rolling_cpu_s']:.1f} s of "
            f"CPU); {measured['event_parquet_bytes']:.1f} bytes an event in Parquet.",
            table(["daily snapshots", "events", "core-hours", "credits (8 core-h each)",
                   "hours on an XL", "a day at the credit price"], rows)]


def cost_section(workload: dict, measured: dict, shapes: list[dict], sizes: dict,
                 hits: dict) -> list:
    per_container = container_rate(measured)
    hit = hits[1.0][per_container]
    billed_s = math.ceil(measured["lambda_single_p50_s"] * 1000) / 1000  # 1 ms granularity
    item = sizes[f"synthetic_{workload['features_per_view']}"]["bytes"]
    rows = []
    for rate in workload["reads_per_s"]:
        for shape in shapes:
            items = workload["entities"] * shape["items"]
            for cadence, cycles in (("daily", 30), ("hourly", 730)):
                costs = monthly_cost(
                    read_units_per_s=rate * shape["rru"] * (1 - hit),
                    write_units_month=items * cycles * write_units(item, transactional=True),
                    table_gb=items * item / 1024**3, requests_per_s=rate,
                    lambda_seconds=billed_s, lambda_gb=LAMBDA_GB)
                rows.append([f"{rate:,}", shape["features"], cadence,
                             *(f"${costs[k]:,.0f}" for k in (
                                 "dynamodb_reads", "dynamodb_writes", "dynamodb_storage",
                                 "lambda_requests", "lambda_duration", "http_api", "total"))])
    return ["## A month at list prices (us-east-1, on demand)",
            f"Zipf s = 1.0 cache hits ({hit:.1%}); Lambda 1 GB arm64 billed "
            f"{billed_s * 1000:.0f} ms a request; every entity's items rewritten "
            "conditionally (TransactWriteItems) each sync cycle.",
            table(["reads/s", "features", "sync", "DynamoDB reads", "DynamoDB writes",
                   "storage", "Lambda requests", "Lambda duration", "HTTP API", "total"],
                  rows)] + build_section(workload, measured)
