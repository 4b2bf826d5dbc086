"""The inputs of the capacity model (bench/capacity.py), each with where it comes from.

Three kinds, never mixed: what was measured on this repository (MEASURED, with the load of
the machine when it was), what AWS documents as a rule or a default quota (LIMITS), and
list prices (PRICES: value, where it was read, the date that page carries). Change a
figure here and rerun ``python bench/capacity.py``; docs/scale.md prints the same tables.
"""

from __future__ import annotations

from pathlib import Path

ROOT_FEATURE_DEFS = Path(__file__).resolve().parents[1] / "feature_defs"

# The seeds' workload (issue 21).
WORKLOAD = {
    "entities": 100_000_000,
    "features_per_request": (50, 300),
    "reads_per_s": (100_000, 500_000),
    "events_per_s_peak": (1_000_000, 3_000_000),
    "daily_snapshot_tb": (2, 8),
    "features_per_view": 50,  # how the request's features are grouped into items
    "refresh_windows_h": (1, 4),  # a full refresh of every entity must fit in this
}

# Documented rules and default quotas.
LIMITS = {
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Limits.html
    # ("Capacity unit sizes"): one read unit per 4 KB, one write unit per 1 KB, rounded up;
    # an eventually consistent read costs half; transactional reads and writes double.
    "read_unit_bytes": 4096,
    "write_unit_bytes": 1024,
    "item_bytes": 400 * 1024,  # the item size limit (featurestore.online.items.MAX_ITEM_BYTES)
    # API limits, same page: BatchGetItem 100 items and 16 MB a call, BatchWriteItem 25
    # puts and 16 MB, TransactWriteItems 100 actions and 4 MB
    "batch_get_items": 100,
    "batch_get_bytes": 16 * 1024 * 1024,
    "batch_write_items": 25,
    "transact_items": 100,
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-
    # scenarios.html: each partition at most 3,000 read units and 1,000 write units a
    # second; a partition holds at most 10 GB (Limits.html, "Partitions")
    "partition_rcu": 3_000,
    "partition_wcu": 1_000,
    "partition_bytes": 10 * 1024**3,
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-
    # mode-max-throughput.html: an on-demand table is bounded by the 40,000 read and
    # 40,000 write units a second table-level quota unless it is raised
    "table_rru_default": 40_000,
    "table_wru_default": 40_000,
    # https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html: 1,000 new
    # execution environments every 10 s per function; 1,000 concurrent executions per
    # Region by default (a soft quota)
    "lambda_scale_per_10s": 1_000,
    "lambda_concurrency_default": 1_000,
    # https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html ("Understanding
    # concurrency and requests per second"): across an account's functions, at most 10
    # requests a second per unit of concurrency (1,000 concurrency, 10,000 requests a
    # second); scaling-behavior.html's "(or 10,000 requests per second every 10 seconds)";
    # gettingstarted-limits.html: "Each instance of your execution environment can serve
    # up to 10 requests per second."
    "lambda_rps_per_concurrency": 10,
}

# List prices, us-east-1: (dollars, where read, the page's date). The search corpus of
# this session holds no dated AWS price page with the on-demand DynamoDB numbers in it, so
# those come from third-party pages that quote AWS's page, and say when.
PRICES = {
    "rru_million": (0.125, "airbyte.com/data-engineering-resources/dynamodb-pricing, "
                    "quoting AWS after the November 2024 on-demand price cut", "2025-07-21"),
    "wru_million": (0.625, "the same page", "2025-07-21"),
    "storage_gb_month": (0.25, "aws.amazon.com/dynamodb/pricing (standard table class, "
                         "past the free 25 GB)", "undated"),
    "lambda_request_million": (0.20, "docs.aws.amazon.com/whitepapers/latest/"
                               "how-aws-pricing-works/lambda.html", "undated"),
    "lambda_gb_second_arm": (0.0000133334, "cloudchipr.com/blog/aws-lambda-pricing "
                             "(arm64, first 7.5 billion GB-s a month)", "2024"),
    "http_api_million_300m": (1.00, "aws.amazon.com/api-gateway/pricing via "
                              "amnic.com/blogs/aws-api-gateway-pricing", "2025"),
    "http_api_million_1b": (0.90, "the same page (300M to 1B a month)", "2025"),
    "http_api_million_over": (0.80, "apigatewaycost.com/aws (past 1B a month)", "2025"),
    "snowflake_credit": (3.00, "finout.io/blog/the-complete-guide-to-snowflake-pricing-2025 "
                         "(Enterprise edition, AWS US East, on demand)", "2025"),
}

# Snowflake's documented credits an hour per warehouse size (Gen1 standard warehouses):
# https://docs.snowflake.com/user-guide/warehouses-overview
SNOWFLAKE_CREDITS_PER_HOUR = {"XS": 1, "S": 2, "M": 4, "L": 8, "XL": 16, "2XL": 32,
                              "3XL": 64, "4XL": 128}

# Measured on this repository (2 cores, shared; the load average is each figure's note).
MEASURED = {
    # README "Sync", bench/sync.py, 200,000 entities x 10 features, DynamoDB Local in
    # memory on the same 2 cores, load average 6 to 8: first load (BatchWriteItem)
    "sync_first_load_items_s": 4_493,
    # featurestore/online/writer.py, bench/sync.py on a quiet machine: --full-refresh that
    # rewrites every item (TransactWriteItems, conditional)
    "sync_conditional_items_s": 2_179,
    # A Lambda container's time a request: `python bench/lookup.py --only lambda
    # --seconds 30` (bench/lookup_fleet.py), the Lambda handler imported in a process of
    # its own with Lambda's environment (cache off) and invoked back to back, one request
    # at a time, with the runtime client's JSON decode of the event and encode of the
    # answer around each call, against DynamoDB Local in memory on the same 2 cores;
    # 2026-12-05 14:45 UTC, load average 9.9 -> 11.4 (a run at 14:30, load 19.8 -> 18.8,
    # gave 3.94 / 53.62 ms and 12.96 / 458.13 ms). Not in it: the runtime client's two
    # calls to the Runtime API in the sandbox, and AWS's DynamoDB round trip in place of
    # the local one (docs/scale.md, "The lookup fleet").
    # single key, 20 features from 3 views: p50 and p99
    "lambda_single_p50_s": 0.00207,
    "lambda_single_p99_s": 0.01906,
    # 100-key batch of one view (7 features)
    "lambda_batch100_p50_s": 0.00992,
    "lambda_batch100_p99_s": 0.02533,
    # the lookup cache's hit rate on a Zipf stream over 100M keys, 10 s simulated (what
    # bench/capacity.py's simulation printed on 2026-12-05; --no-cache-sim uses these):
    # exponent -> {requests a second reaching one container: share answered by the cache}
    "cache_hit_rate": {0.8: {500: 0.0134, 2_000: 0.0250},
                       1.0: {500: 0.1892, 2_000: 0.2557},
                       1.2: {500: 0.5316, 2_000: 0.6328}},
    # the 200,000-user rolling-window build (bench/rolling_windows.py's four models, full
    # refresh), measured here on 2026-12-05 at load average 13 to 18: 467 s wall, 77.4 s
    # of CPU (all threads, wait4), 9.0 GiB peak. The CPU time is the core-seconds of work:
    # on this loaded machine the wall time measures the neighbours
    "rolling_events": 6_437_196,
    "rolling_cpu_s": 77.4,
    # bytes a transaction event takes in the landing Parquet files (demo-data, 200,000
    # users x 60 days, 8 columns): 134,247,596 bytes for 6,437,196 events
    "event_parquet_bytes": 134_247_596 / 6_437_196,
}
