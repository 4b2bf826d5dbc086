"""bench/capacity.py's arithmetic against a hand-worked example (docs/scale.md shows the
same sums). Every expected number here was worked out by hand from the rule it tests."""

from __future__ import annotations

import pytest

from bench import capacity


@pytest.mark.parametrize(("item_bytes", "consistent", "units"), [
    (151, False, 0.5),     # any item up to 4 KB: half a unit eventually consistent
    (4096, False, 0.5),    # exactly 4 KB is still one block
    (4097, False, 1.0),    # one byte more: two blocks, half a unit each
    (7620, False, 1.0),    # the 300-feature item: 2 blocks x 0.5
    (7620, True, 2.0),     # strongly consistent: a unit per block
])
def test_read_units(item_bytes, consistent, units):
    assert capacity.read_units(item_bytes, consistent=consistent) == units


@pytest.mark.parametrize(("item_bytes", "transactional", "units"), [
    (151, False, 1),
    (1024, False, 1),
    (1025, False, 2),
    (1341, False, 2),      # the 50-feature item: 2 KB blocks
    (1341, True, 4),       # TransactWriteItems doubles
    (7620, True, 16),      # 8 blocks x 2
])
def test_write_units(item_bytes, transactional, units):
    assert capacity.write_units(item_bytes, transactional=transactional) == units


def test_batch_calls():
    assert capacity.batch_get_calls(6, 1341) == 1
    assert capacity.batch_get_calls(600, 1341) == 6          # 100 keys a call
    # 300 KB items: 16 MB / 300 KB = 54 items a call, so 100 items need 2 calls
    assert capacity.batch_get_calls(100, 300 * 1024) == 2
    assert capacity.batch_write_calls(100, transactional=False) == 4   # 25 a call
    assert capacity.batch_write_calls(101, transactional=True) == 2    # 100 a call


def test_lambda_concurrency_is_rate_times_time():
    assert capacity.lambda_concurrency(500_000, 0.00187) == 935      # 935.0
    assert capacity.lambda_concurrency(100_000, 0.00429) == 429      # 429.0, not 429.00..1
    assert capacity.lambda_concurrency(100_000, 0.0043) == 430


def test_the_quota_is_at_least_a_tenth_of_the_rate():
    # Lambda admits 10 requests a second per unit of concurrency: 500,000 req/s needs a
    # quota of 50,000 even when 1,970 containers are busy at once (500,000 x 3.94 ms)
    assert capacity.concurrency_quota(500_000, 1_970) == 50_000
    assert capacity.concurrency_quota(1_000, 5) == 100        # 1,000 / 10
    assert capacity.concurrency_quota(1_001, 5) == 101        # 100.1 -> 101
    # a 2 s function at 1,000 req/s: 2,000 busy, more than the 100 the rate asks
    assert capacity.concurrency_quota(1_000, 2_000) == 2_000


def test_the_ramp_adds_1000_containers_or_10000_requests_a_second_each_10_s():
    assert capacity.ramp_seconds(500_000, 1_970) == 500       # 500,000 / 10,000 = 50 steps
    assert capacity.ramp_seconds(100_000, 394) == 100         # 10 steps
    assert capacity.ramp_seconds(5_000, 65) == 10             # 0.5 -> one step
    assert capacity.ramp_seconds(1_000, 2_000) == 20          # 2,000 / 1,000 = 2 steps by size


def test_sync_workers():
    # 100M items in an hour at 2,179 items/s a worker: 100e6 / 7,844,400 = 12.75 -> 13
    assert capacity.sync_workers(100_000_000, 3600, 2_179) == 13
    # in 4 hours at 4,493/s: 100e6 / 64,699,200 = 1.55 -> 2
    assert capacity.sync_workers(100_000_000, 4 * 3600, 4_493) == 2


def test_zipf_head_share():
    assert capacity.zipf_head_share(1.0, 3) == pytest.approx(6 / 11)   # 1 / (1 + 1/2 + 1/3)
    assert capacity.zipf_head_share(2.0, 2) == pytest.approx(0.8)      # 1 / (1 + 1/4)
    # H(1e8) = ln(1e8) + 0.5772 (Euler) + 1/(2e8) = 18.4207 + 0.5772 = 18.9979: the head
    # takes 5.264%
    assert capacity.zipf_head_share(1.0, 100_000_000) == pytest.approx(1 / 18.9979, rel=1e-4)


def test_hot_item_reads_are_bounded_by_containers_over_ttl():
    assert capacity.hot_item_reads(500_000, 0.0526, 935, None) == pytest.approx(26_300)
    assert capacity.hot_item_reads(500_000, 0.0526, 935, 1.0) == 935
    assert capacity.hot_item_reads(500_000, 0.0526, 935, 0.5) == 1_870
    assert capacity.hot_item_reads(1_000, 0.01, 935, 1.0) == pytest.approx(10)  # under it


def test_partitions():
    gib = 1024**3
    assert capacity.partitions_for(125 * gib, 0, 0) == 13          # 12.5 -> 13 by size
    assert capacity.partitions_for(1, 40_000, 0) == 14              # 13.3 by reads
    assert capacity.partitions_for(1, 0, 111_111) == 112            # 111.1 by writes


def test_monthly_cost():
    costs = capacity.monthly_cost(read_units_per_s=1_000, write_units_month=2_000_000,
                                  table_gb=100, requests_per_s=1_000, lambda_seconds=0.002,
                                  lambda_gb=1.0)
    # a month is 730 h = 2,628,000 s
    assert costs["dynamodb_reads"] == pytest.approx(2_628 * 0.125)     # 2,628M RRU: $328.50
    assert costs["dynamodb_writes"] == pytest.approx(2 * 0.625)        # $1.25
    assert costs["dynamodb_storage"] == pytest.approx(25.0)           # 100 GB x $0.25
    assert costs["lambda_requests"] == pytest.approx(2_628 * 0.20)     # $525.60
    # 2,628M requests x 0.002 s x 1 GB = 5,256,000 GB-s x $0.0000133334
    assert costs["lambda_duration"] == pytest.approx(5_256_000 * 0.0000133334)
    # 2,628M requests: 300M at $1.00, 700M at $0.90, 1,628M at $0.80
    assert costs["http_api"] == pytest.approx(300 + 630 + 1_302.4)
    assert costs["total"] == pytest.approx(sum(v for k, v in costs.items() if k != "total"))


def test_cache_absorbs_one_key_but_once_a_ttl():
    # one entity, 100 requests a second for 10 s: the first read of each 1 s TTL misses
    # (at t = 0, 1.0, ... 9.0 s), the other 990 hit
    assert capacity.cache_hit_rate(1.0, 100, entities=1, seconds=10) == pytest.approx(0.99)


def test_docs_scale_shows_what_the_model_prints():
    """docs/scale.md's tables are bench/capacity.py's output (recorded hit rates): a
    changed input or rule without the page rewritten fails here."""
    from bench.capacity_inputs import MEASURED, WORKLOAD
    from bench.capacity_report import report
    from tests.conftest import REPO_ROOT

    page = (REPO_ROOT / "docs" / "scale.md").read_text().splitlines()
    printed = [line for line in report(False, WORKLOAD, MEASURED).splitlines()
               if line.startswith("| ")]
    assert len(printed) > 40
    assert [line for line in printed if line not in page] == []
