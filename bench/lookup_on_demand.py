"""The lookup benchmark's on-demand part (bench/lookup.py runs it; issue 20's targets).

Two on-demand views are added to the benchmark's project, each of 10 expressions over
request fields and stored features:

- ``bench_context`` reads the three views the single-key request asks for;
- ``bench_batch_context`` reads only ``bench_activity``, the 100-key batch's view, so
  that with or without it the batch reads the same items.

Measured, interleaved with the same request without on-demand features (so both meet the
server and DynamoDB Local in the same state), cache off: the single-key GET with its 20
stored features plus the 10 expressions (request fields as ``request.*`` parameters), and
the 100-key POST with one request object per key (the bodies written before the clock
starts, 500 of each, cycled); then in process, on a warm cache,
``lookup()`` with and without them (the evaluation's own cost, without HTTP or DynamoDB),
and the CPU time of the whole 100-key POST path (parse, lookup on a warm cache, encode);
then the Lambda zip's size and its cold-start import (the handler module, in a fresh
``python -S`` over the unzipped package, median of 5).
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTEXT = {  # reads bench_activity, bench_profile, bench_risk
    "amount_over_sum": "amount / sum_30d",
    "amount_minus_last": "amount - coalesce(last_amount, 0)",
    "velocity": "count_7d / 7",
    "hour_paris": "date_part('hour', txn_ts, 'Europe/Paris')",
    "is_home": "merchant_country = country",
    "account_days": "date_diff('day', signed_up_at, txn_ts)",
    "band": "case when amount > 1000 then 'high' when amount > 100 then 'mid' else 'low' end",
    "risky": "score > 0.8 and amount > 500",
    "log_amount": "round(ln(amount + 1), 3)",
    "tenure_weeks": "floor(tenure_days / 7)",
}
BATCH_CONTEXT = {  # reads bench_activity only
    "amount_over_sum": "amount / sum_30d",
    "amount_minus_last": "amount - coalesce(last_amount, 0)",
    "velocity": "count_7d / 7",
    "hour_paris": "date_part('hour', txn_ts, 'Europe/Paris')",
    "share_30d": "sum_7d / nullif(sum_30d, 0)",
    "burst": "count_1h * 24 > count_7d",
    "band": "case when amount > 1000 then 'high' when amount > 100 then 'mid' else 'low' end",
    "is_fr": "merchant_country = 'FR'",
    "log_amount": "round(ln(amount + 1), 3)",
    "avg_30d": "sum_30d / nullif(count_30d, 0)",
}
# bench_activity's v2 drops the 1-hour features: the inputs pin v1, the version served
INPUTS = {"bench_context": ["bench_activity@v1:sum_30d", "bench_activity@v1:last_amount",
                            "bench_activity@v1:count_7d", "bench_profile:country",
                            "bench_profile:signed_up_at", "bench_profile:tenure_days",
                            "bench_risk:score"],
          "bench_batch_context": [f"bench_activity@v1:{f}" for f in (
              "sum_30d", "last_amount", "count_7d", "sum_7d", "count_1h", "count_30d")]}
BODIES = 500  # distinct 100-key bodies of each kind, cycled
REQUEST = {"amount": "812.5", "txn_ts": "2026-05-01T12:00:00Z", "merchant_country": "FR"}


def write_on_demand(folder: Path) -> None:
    """The two on-demand views, beside bench/lookup_data.py's stored ones."""
    for name, expressions in (("bench_context", CONTEXT),
                              ("bench_batch_context", BATCH_CONTEXT)):
        features = "".join(f"  - {{name: {n}, sql: \"{sql}\", sensitivity: internal, "
                           "description: b.}\n" for n, sql in expressions.items())
        (folder / "feature_defs" / f"{name}.yml").write_text(
            f"name: {name}\nkind: on_demand\nversion: 1\nentity: user\nowner: bench\n"
            "description: Benchmark expressions.\nrequest:\n"
            "  - {name: amount, dtype: float64}\n  - {name: txn_ts, dtype: timestamp}\n"
            "  - {name: merchant_country, dtype: string}\n"
            f"inputs: [{', '.join(INPUTS[name])}]\nfeatures:\n{features}")


def latency(seconds, port, rng, users, refs, batch_refs, interleaved, http_caller) -> dict:
    """The HTTP scenarios: single key and 100-key batch, with and without 10 expressions."""
    query = "".join(f"&request.{k}={v}" for k, v in REQUEST.items())
    plain = http_caller(port, "GET", lambda: (
        f"/v1/features/user/{rng.randrange(users)}?features={refs}"))
    with_od = http_caller(port, "GET", lambda: (
        f"/v1/features/user/{rng.randrange(users)}?features={refs},bench_context{query}"))
    results = {}
    print("single key, with and without 10 on-demand features ...", file=sys.stderr)
    results["od_single_plain"], results["od_single"] = interleaved(seconds, plain, with_od)

    def body(on_demand: bool) -> str:
        start = rng.randrange(users - 100)
        document = {"entity": "user", "keys": [{"user_id": i} for i in
                                               range(start, start + 100)],
                    "features": batch_refs + (["bench_batch_context"] if on_demand else [])}
        if on_demand:
            document["request"] = [{**REQUEST, "amount": 10.0 + i} for i in range(100)]
        return json.dumps(document)

    # the bodies are written before the clock starts: encoding 100 request objects is the
    # client's work, not the lookup's
    pools = {on_demand: itertools.cycle([body(on_demand) for _ in range(BODIES)])
             for on_demand in (False, True)}
    batch = http_caller(port, "POST", lambda: "/v1/features/retrieve",
                        lambda: next(pools[False]))
    batch_od = http_caller(port, "POST", lambda: "/v1/features/retrieve",
                           lambda: next(pools[True]))
    print("100-key batch, with and without 10 on-demand features ...", file=sys.stderr)
    results["od_batch_plain"], results["od_batch"] = interleaved(seconds, batch, batch_od)
    return results


def in_process(catalog, reader, refs: str) -> tuple[dict, dict]:
    """Warm-cache ``lookup()`` of one key, without and with the 10 expressions."""
    from lookup_data import time_lookups

    from featurestore.lookup import service
    from featurestore.lookup.cache import TTLCache

    cache = TTLCache(ttl_s=3600)
    plain = [service.entity_request(catalog, "user", [{"user_id": 5}], refs)]
    with_od = [service.entity_request(catalog, "user", [{"user_id": 5}],
                                      f"{refs},bench_context", request=dict(REQUEST),
                                      request_text=True)]
    for requests in (plain, with_od):
        service.lookup(requests, reader, cache=cache)
    return (time_lookups(plain, reader, cache, 100_000),
            time_lookups(with_od, reader, cache, 100_000))


def batch_cpu(catalog, reader, batch_refs: list[str], calls: int = 400) -> tuple[float, float]:
    """CPU milliseconds (thread time, so not the waits of a loaded machine) of a 100-key
    POST in process, the body parsed, looked up on a warm cache and encoded: p50 without
    and with the 10 expressions, alternated."""
    from featurestore.lookup import service
    from featurestore.lookup.cache import TTLCache
    from featurestore.lookup.events import encode_json

    cache = TTLCache(ttl_s=3600)
    bodies = []
    for on_demand in (False, True):
        document = {"entity": "user", "keys": [{"user_id": i} for i in range(100)],
                    "features": batch_refs + (["bench_batch_context"] if on_demand else [])}
        if on_demand:
            document["request"] = [{**REQUEST, "amount": 10.0 + i} for i in range(100)]
        bodies.append(json.dumps(document).encode())

    def call(body: bytes) -> float:
        started = time.thread_time()
        requests = service.post_requests(catalog, body)
        outcome = service.lookup(requests, reader, cache=cache)
        encode_json(service.response_body(requests, outcome, False))
        return time.thread_time() - started

    samples: tuple[list, list] = ([], [])
    for _ in range(calls + 20):
        for kind, body in enumerate(bodies):
            samples[kind].append(call(body))
    return tuple(statistics.median(s[20:]) * 1e3 for s in samples)


def lambda_package(catalog) -> dict:
    """The zip's size, and the handler's import in a fresh interpreter (median of 5)."""
    from featurestore.lookup.package import build_zip, unpack

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        built = build_zip(catalog, folder / "lookup.zip")
        code, runtime = unpack(built["path"], folder)
        script = ("import time, sys\nt = time.perf_counter()\n"
                  "import featurestore.lookup.handler\n"
                  "print(time.perf_counter() - t, 'sqlglot' in sys.modules)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEATURESTORE_")}
        env["PYTHONPATH"] = f"{code}:{runtime}"
        imports = []
        for _ in range(5):
            done = subprocess.run([sys.executable, "-S", "-c", script], cwd=code, env=env,
                                  capture_output=True, text=True, check=True)
            seconds, sqlglot = done.stdout.split()
            imports.append(float(seconds))
        return {"bytes": built["bytes"], "files": built["files"],
                "import_ms": statistics.median(imports) * 1000, "sqlglot": sqlglot == "True"}


def report(results: dict, inproc: tuple[dict, dict], cpu: tuple[float, float],
           package: dict, line) -> list[str]:
    single, single_plain = results["od_single"], results["od_single_plain"]
    batch, batch_plain = results["od_batch"], results["od_batch_plain"]
    ratio = batch["p99"] / batch_plain["p99"]
    return [
        line("single key, 20 stored features", single_plain),
        line("single key, the same + 10 on-demand", single),
        line("100-key batch, 7 stored features", batch_plain),
        line("100-key batch, the same + 10 on-demand", batch),
        line("in-process lookup(), warm, 20 stored", inproc[0]),
        line("in-process lookup(), warm, + 10 on-demand", inproc[1]),
        f"in-process 100-key POST (parse, lookup, encode), CPU p50: {cpu[0]:.3f} ms; + 10 "
        f"on-demand {cpu[1]:.3f} ms (+{(cpu[1] - cpu[0]) * 10:.1f} µs a key, "
        f"{cpu[1] / cpu[0]:.2f}x)",
        f"Lambda zip: {package['bytes'] / 2**20:.2f} MB, {package['files']} files; cold-start "
        f"import of the handler {package['import_ms']:.0f} ms (median of 5; sqlglot "
        f"imported: {package['sqlglot']})",
        "on-demand targets:",
        f"  single key: +{single['p99'] - single_plain['p99']:.2f} ms p99 (target +0.3 ms); "
        f"in process +{inproc[1]['p99'] - inproc[0]['p99']:.3f} ms p99",
        f"  100-key batch: {batch['p50'] / batch_plain['p50']:.3f} x p50, {ratio:.2f} x p99 "
        "(target 1.10)",
        f"  zip under 50 MB: {package['bytes'] / 2**20:.2f} MB",
    ]


def run(seconds: float, tools: dict, client, table: str, catalog, project: Path,
        children: list) -> list[str]:
    """Every on-demand scenario; ``tools``: bench/lookup.py's ``start_server``,
    ``interleaved``, ``http_caller`` and ``line``."""
    import random

    from lookup_data import USERS, VIEWS

    from featurestore.online.dynamodb import DynamoDBStore
    from featurestore.online.retry import LOOKUP_RETRY

    refs = ",".join(f"{v}:{f}" for v, feats in VIEWS.items() for f, _ in feats)
    batch_refs = [f"bench_activity:{f}" for f, _ in VIEWS["bench_activity"]]
    reader = DynamoDBStore.over(client, table, deadline_s=1.0, retry=LOOKUP_RETRY)
    inproc = in_process(catalog, reader, refs)
    cpu = batch_cpu(catalog, reader, batch_refs)
    child, port = tools["start_server"](project, tools["endpoint"], table, False)
    children.append(child)
    try:
        results = latency(seconds, port, random.Random(3), USERS, refs, batch_refs,
                          tools["interleaved"], tools["http_caller"])
    finally:
        child.terminate()
        child.wait()
    return report(results, inproc, cpu, lambda_package(catalog), tools["line"])
