"""The lookup benchmarks' data: a project of three user views (20 features) and its
items, written to DynamoDB as the sync writes them; and the figures' formatting.

Shared by ``bench/lookup.py`` (latency), ``bench/lookup_on_demand.py`` (its on-demand
part) and ``bench/lookup_fleet.py`` (throughput of ``serve --workers N``, the Lambda
handler, the cache on a Zipf stream); ``time_lookups`` is the in-process loop the first
two time.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path

USERS = 2_000
HOT_USERS = 200
VIEWS = {  # name -> [(feature, dtype)]
    "bench_activity": [("count_1h", "int64"), ("count_7d", "int64"), ("count_30d", "int64"),
                       ("sum_1h", "float64"), ("sum_7d", "float64"), ("sum_30d", "float64"),
                       ("last_amount", "float64")],
    "bench_profile": [("country", "string"), ("channel", "string"), ("is_verified", "bool"),
                      ("kyc_level", "int64"), ("signed_up_at", "timestamp"),
                      ("segment", "string"), ("tenure_days", "int64")],
    "bench_risk": [("score", "float64"), ("flags", "int64"), ("is_blocked", "bool"),
                   ("last_review_at", "timestamp"), ("reviewer", "string"),
                   ("disputes_90d", "int64")],
}
DEFAULTS = {"int64": "0", "float64": "0.0", "bool": "false"}
PROMOTIONS = 20
# bench_activity's v2: the 1-hour features become 24-hour ones, and a 7-day maximum is new
ACTIVITY_V2 = """versions:
  - version: 1
    changes: The first version.
  - version: 2
    changes: The 1-hour window becomes 24 hours; max_7d is new.
    drop: [count_1h, sum_1h]
    add:
      - {name: count_24h, dtype: int64, default: 0, sensitivity: internal, description: c.}
      - {name: sum_24h, dtype: float64, default: 0.0, sensitivity: internal, description: s.}
      - {name: max_7d, dtype: float64, sensitivity: internal, description: m.}
"""
ACTIVITY_V2_FEATURES = [("count_7d", "int64"), ("count_30d", "int64"), ("sum_7d", "float64"),
                        ("sum_30d", "float64"), ("last_amount", "float64"),
                        ("count_24h", "int64"), ("sum_24h", "float64"), ("max_7d", "float64")]


def write_project(folder: Path) -> None:
    """A throwaway project: three user views with 20 features in all."""
    defs = folder / "feature_defs"
    defs.mkdir(parents=True)
    (folder / "dbt_project.yml").write_text("name: bench\n")
    (defs / "entities.yml").write_text(
        "entities:\n  - name: user\n    join_keys:\n      - {name: user_id, dtype: int64}\n"
        "    description: A customer.\n")
    for view, features in VIEWS.items():
        lines = [f"name: {view}", "version: 1", "entity: user", f"source: fs_{view}",
                 "timestamp: feature_ts", "ttl: 30d", "freshness_slo: 1h", "owner: bench",
                 "description: Benchmark view.", "features:"]
        for name, dtype in features:
            lines += [f"  - name: {name}", f"    dtype: {dtype}", "    sensitivity: internal",
                      f"    description: {name}."]
            if dtype in DEFAULTS:
                lines.append(f"    default: {DEFAULTS[dtype]}")
        extra = ACTIVITY_V2 if view == "bench_activity" else ""
        (defs / f"{view}.yml").write_text("\n".join(lines) + "\n" + extra)


def value_for(dtype: str, rng: random.Random, now: dt.datetime):
    if dtype == "int64":
        return rng.randint(0, 1000)
    if dtype == "float64":
        return round(rng.uniform(0, 5000), 2)
    if dtype == "bool":
        return rng.random() < 0.5
    if dtype == "timestamp":
        return now - dt.timedelta(days=rng.randint(1, 900))
    return rng.choice(["DE", "FR", "US", "web", "ios", "gold", "silver", "ana", "bo"])


def seed(client, table: str, catalog) -> None:
    from featurestore.online.items import encode_item, to_epoch_micros

    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    written = to_epoch_micros(now)
    batch = []
    for user_id in range(USERS):
        for view_name, features in VIEWS.items():
            view = catalog.views[view_name]
            row = {"user_id": user_id, "feature_ts": now - dt.timedelta(minutes=10)}
            row.update({name: value_for(dtype, rng, now) for name, dtype in features})
            batch.append({"PutRequest": {"Item": encode_item(view, row, written)}})
            if view_name == "bench_activity":  # its v2 item too (the shadow, the promotion)
                v2 = catalog.view_version(view_name, 2)
                row2 = {"user_id": user_id, "feature_ts": row["feature_ts"]}
                row2.update({n: value_for(d, rng, now) for n, d in ACTIVITY_V2_FEATURES})
                batch.append({"PutRequest": {"Item": encode_item(v2, row2, written)}})
            if len(batch) >= 24:
                _write(client, table, batch)
                batch = []
    if batch:
        _write(client, table, batch)


def _write(client, table: str, batch: list) -> None:
    pending = {table: batch}
    while pending:
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}



def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"n": len(ordered), "p50": at(0.50), "p99": at(0.99), "p999": at(0.999)}


def line(label: str, r: dict) -> str:
    return (f"{label:<46} p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  p99.9 "
            f"{r['p999']:7.2f} ms  {r['rps']:8.0f} req/s  (n={r['n']})")


def time_lookups(requests: list, reader, cache, calls: int) -> dict:
    """``calls`` in-process ``lookup()`` calls of ``requests`` back to back (no HTTP; on
    a warm ``cache``, no DynamoDB either): latency percentiles in ms, and rps."""
    from featurestore.lookup import service

    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        service.lookup(requests, reader, cache=cache)
        samples.append(time.perf_counter() - t)
    result = percentiles(samples)
    result["rps"] = len(samples) / sum(samples)
    return result
