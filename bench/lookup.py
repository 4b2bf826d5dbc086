"""Lookup latency, end to end on this machine: server and DynamoDB Local included.

    python bench/lookup.py                # 60 s per scenario
    python bench/lookup.py --seconds 10   # a quick run

What runs: a DynamoDB Local of its own (in memory), seeded with USERS users x 3 views
(7 + 7 + 6 = 20 features); the lookup server (``lookup.http_server``, the Lambda handler
behind a stdlib ThreadingHTTPServer) in a child process; and, from this process, a
closed-loop client on one keep-alive connection (one request in flight at a time):

1. single key, 20 features from 3 views, GET; cache off (cold) and on (warm, hot keys)
2. 100-key POST batches of one view (7 features); cache off and on
3. the raw floor: boto3 BatchGetItem of the same items straight against DynamoDB Local
4. in-process ``lookup()`` with a warm cache (no HTTP, no DynamoDB)
5. feature versions (``bench_activity`` has a v2 beside v1, docs/versions.md): the single-key
   GET with ``&shadow=bench_activity@v2`` interleaved with the same GET without it (the
   shadow item joins the same BatchGetItem); and promotion visibility: the serving pointer
   is flipped between v1 and v2 (``online/serving.py``, as ``featurestore promote`` and
   ``rollback`` write it) while a client keeps asking, and the time from the write's
   acknowledgement to the first answer of the new version is measured, PROMOTIONS times.

Targets (2-core machine): single-key p99 < 5 ms; 100-key batch p99 <= 1.15 x the raw
floor of the same run; in-process warm lookup() p99 < 0.2 ms; single-key p99 with a
shadow within noise of the same run without; promotion visible within the lookup's
refresh interval (FEATURESTORE_LOOKUP_VERSION_REFRESH_MS, 1 s) plus one request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


# -- the server, in a child process --------------------------------------------------------
def serve_child(project: str, endpoint: str, table: str, cache: bool, port_file: str) -> None:
    from featurestore.lookup.cache import TTLCache
    from featurestore.lookup.handler import LookupApp
    from featurestore.lookup.http_server import make_server
    from featurestore.online.config import OnlineConfig
    from featurestore.online.reader import DynamoReader
    from featurestore.project import Project

    catalog = Project(Path(project)).catalog()
    client = OnlineConfig(endpoint=endpoint).client(
        connect_timeout=0.2, read_timeout=0.5, max_attempts=1, max_pool_connections=32)
    app = LookupApp(catalog, DynamoReader(client, table, deadline_s=0.5),
                    cache=TTLCache(ttl_s=3600) if cache else None, serving_log=None)
    server = make_server(app, "127.0.0.1", 0)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def start_server(project: Path, endpoint: str, table: str, cache: bool):
    port_file = project / f"port-{cache}"
    child = subprocess.Popen([sys.executable, __file__, "--serve-child", str(project), endpoint,
                              table, "1" if cache else "0", str(port_file)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or child.poll() is not None:
            child.kill()
            raise SystemExit("the lookup server did not start")
        time.sleep(0.05)
    return child, int(port_file.read_text())


# -- measuring -----------------------------------------------------------------------------
def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"n": len(ordered), "p50": at(0.50), "p99": at(0.99), "p999": at(0.999)}


def closed_loop(seconds: float, call) -> dict:
    """Call ``call()`` back to back for ``seconds``; latency percentiles in ms, and rps."""
    for _ in range(50):  # warm the connection and the JIT of DynamoDB Local
        call()
    samples = []
    started = time.perf_counter()
    end = started + seconds
    now = started
    while now < end:
        call()
        after = time.perf_counter()
        samples.append(after - now)
        now = after
    result = percentiles(samples)
    result["rps"] = len(samples) / (now - started)
    return result


def interleaved(seconds: float, call_a, call_b) -> tuple[dict, dict]:
    """Alternate two calls for ``seconds``, so both meet DynamoDB Local in the same state
    (its JIT, its garbage collector): the fair way to compare the server with the floor."""
    for _ in range(50):
        call_a()
        call_b()
    samples: tuple[list, list] = ([], [])
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for index, call in enumerate((call_a, call_b)):
            t = time.perf_counter()
            call()
            samples[index].append(time.perf_counter() - t)
    out = []
    for taken in samples:
        result = percentiles(taken)
        result["rps"] = len(taken) / sum(taken)  # as if alone in a closed loop
        out.append(result)
    return out[0], out[1]


def http_caller(port: int, method: str, path_fn, body_fn=None):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"content-type": "application/json"}

    def call():
        body = body_fn() if body_fn else None
        connection.request(method, path_fn(), body=body, headers=headers)
        answer = connection.getresponse()
        payload = answer.read()
        if answer.status != 200:
            raise SystemExit(f"HTTP {answer.status}: {payload[:300]!r}")
    return call


def promotion_visibility(port: int, client, table: str, rng) -> list[tuple[float, float]]:
    """Flip bench_activity's serving pointer PROMOTIONS times while one client asks for it
    back to back; per flip, the seconds from the pointer write's acknowledgement to the
    first answer that names the new version, and that answer's own time (the request
    that found the pointers older than the interval read them before answering)."""
    from featurestore.online.serving import Pointer, read_pointers, write_pointer

    connection = http.client.HTTPConnection("127.0.0.1", port)

    def served() -> int:
        connection.request("GET", f"/v1/features/user/{rng.randrange(USERS)}"
                                  "?features=bench_activity:count_7d")
        answer = connection.getresponse()
        body = json.loads(answer.read())
        return body["versions"]["bench_activity"]

    seen = []
    for flip in range(PROMOTIONS):
        target = 2 if flip % 2 == 0 else 1
        current = read_pointers(client, table, ["bench_activity"])["bench_activity"]
        write_pointer(client, table, Pointer(
            "bench_activity", target, 3 - target, frozenset(), f"bench-{flip}", "promote",
            target, time.time_ns() // 1000, "bench", "benchmark"), current)
        written = time.perf_counter()
        while True:
            asked = time.perf_counter()
            if served() == target:
                break
        done = time.perf_counter()
        seen.append((done - written, done - asked))
        time.sleep(rng.uniform(0, 1.0))  # land the next flip anywhere in the interval
    return seen


def line(label: str, r: dict) -> str:
    return (f"{label:<46} p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  p99.9 "
            f"{r['p999']:7.2f} ms  {r['rps']:8.0f} req/s  (n={r['n']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per scenario")
    parser.add_argument("--endpoint", help="an already running DynamoDB (default: start one)")
    args = parser.parse_args()

    from featurestore.lookup import service
    from featurestore.lookup.cache import TTLCache
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig
    from featurestore.online.local import LocalDynamoDB
    from featurestore.online.reader import DynamoReader
    from featurestore.project import Project

    local = None
    endpoint = args.endpoint
    if not endpoint:
        local = LocalDynamoDB(ROOT)
        endpoint = local.start()
    children = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            write_project(project)
            catalog = Project(project).catalog()
            table = "bench_lookup"
            client = OnlineConfig(endpoint=endpoint).client(max_pool_connections=32)
            ensure_table(client, table)
            print(f"seeding {USERS} users x {len(VIEWS)} views ...", file=sys.stderr)
            t0 = time.perf_counter()
            seed(client, table, catalog)
            print(f"seeded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

            refs = ",".join(f"{v}:{f}" for v, feats in VIEWS.items() for f, _ in feats)
            batch_refs = [f"bench_activity:{f}" for f, _ in VIEWS["bench_activity"]]
            rng = random.Random(1)
            results = {}

            def raw_single():
                user_id = rng.randrange(USERS)
                client.batch_get_item(RequestItems={table: {"Keys": [
                    {"pk": {"S": f"user#{user_id}"}, "sk": {"S": f"{v}#v1"}} for v in VIEWS]}})

            def raw_batch():
                start = rng.randrange(USERS - 100)
                client.batch_get_item(RequestItems={table: {"Keys": [
                    {"pk": {"S": f"user#{i}"}, "sk": {"S": "bench_activity#v1"}}
                    for i in range(start, start + 100)]}})

            # 0. in-process lookup() on a warm cache, before any load heats the machine
            time.sleep(2)
            cache = TTLCache(ttl_s=3600)
            reader = DynamoReader(client, table, deadline_s=1.0)
            requests = [service.entity_request(catalog, "user", [{"user_id": 5}], refs)]
            service.lookup(requests, reader, cache=cache)
            samples = []
            for _ in range(200_000):
                t = time.perf_counter()
                service.lookup(requests, reader, cache=cache)
                samples.append(time.perf_counter() - t)
            inproc = percentiles(samples)
            inproc["rps"] = len(samples) / sum(samples)

            for cache_on in (False, True):
                child, port = start_server(project, endpoint, table, cache_on)
                children.append(child)
                users = HOT_USERS if cache_on else USERS
                single = http_caller(port, "GET", lambda u=users: (
                    f"/v1/features/user/{rng.randrange(u)}?features={refs}"))
                hot_batch = json.dumps({"entity": "user", "features": batch_refs,
                                        "keys": [{"user_id": i} for i in range(100)]})

                def batch_body(cache_on=cache_on, hot=hot_batch):
                    if cache_on:
                        return hot
                    start = rng.randrange(USERS - 100)
                    return json.dumps({"entity": "user", "features": batch_refs, "keys": [
                        {"user_id": i} for i in range(start, start + 100)]})

                batch = http_caller(port, "POST", lambda: "/v1/features/retrieve", batch_body)
                if cache_on:
                    print("single key, cache warm ...", file=sys.stderr)
                    results["single_warm"] = closed_loop(args.seconds, single)
                    print("100-key batch, cache warm ...", file=sys.stderr)
                    results["batch_warm"] = closed_loop(args.seconds, batch)
                else:
                    print("single key, cache cold, interleaved with the raw floor ...",
                          file=sys.stderr)
                    results["single_cold"], results["raw_single"] = interleaved(
                        args.seconds, single, raw_single)
                    print("100-key batch, cache cold, interleaved with the raw floor ...",
                          file=sys.stderr)
                    results["batch_cold"], results["raw_batch"] = interleaved(
                        args.seconds, batch, raw_batch)
                    # 5. feature versions, after the figures above (on fresh connections)
                    print("single key, cache cold, with and without a shadow version ...",
                          file=sys.stderr)
                    plain = http_caller(port, "GET", lambda: (
                        f"/v1/features/user/{rng.randrange(USERS)}?features={refs}"))
                    shadowed = http_caller(port, "GET", lambda: (
                        f"/v1/features/user/{rng.randrange(USERS)}?features={refs}"
                        "&shadow=bench_activity@v2"))
                    results["plain"], results["shadowed"] = interleaved(
                        args.seconds, plain, shadowed)
                    print(f"promotion visibility, {PROMOTIONS} flips ...", file=sys.stderr)
                    results["visible"] = promotion_visibility(port, client, table, rng)
                child.terminate()
                child.wait()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
        if local:
            local.stop()

    print(f"\nlookup benchmark: {args.seconds:.0f} s per scenario, 1 closed-loop client, "
          "server + DynamoDB Local on this machine")
    print(line("single key, 20 features / 3 views, cache cold", results["single_cold"]))
    print(line("single key, 20 features / 3 views, cache warm", results["single_warm"]))
    print(line("raw floor: BatchGetItem of the 3 items", results["raw_single"]))
    print(line("100-key batch, 1 view (7 features), cold", results["batch_cold"]))
    print(line("100-key batch, 1 view (7 features), warm", results["batch_warm"]))
    print(line("raw floor: BatchGetItem of the 100 items", results["raw_batch"]))
    print(line("in-process lookup(), warm cache, 20 features", inproc))
    print(line("single key, cold, interleaved: no shadow", results["plain"]))
    print(line("single key, cold, interleaved: + shadow v2", results["shadowed"]))
    visible = sorted(total for total, _ in results["visible"])
    before = sorted(total - last for total, last in results["visible"])
    print(f"promotion visible after (n={len(visible)}): p50 "
          f"{visible[len(visible) // 2] * 1000:.0f} ms, max {visible[-1] * 1000:.0f} ms; "
          f"less the answering request's own time: max {before[-1] * 1000:.0f} ms")
    ratio = results["batch_cold"]["p99"] / results["raw_batch"]["p99"]
    print("\ntargets:")
    print(f"  single-key p99 < 5 ms:        cold {results['single_cold']['p99']:.2f} ms, "
          f"warm {results['single_warm']['p99']:.2f} ms")
    print(f"  batch p99 <= 1.15 x raw floor: cold {ratio:.2f} x "
          f"({results['batch_cold']['p99']:.2f} / {results['raw_batch']['p99']:.2f} ms)")
    print(f"  in-process warm p99 < 0.2 ms: {inproc['p99']:.3f} ms")
    print(f"  shadow p99 within noise:      {results['shadowed']['p99']:.2f} ms with, "
          f"{results['plain']['p99']:.2f} ms without")
    print(f"  promotion visible <= 1 s + one request: max {visible[-1] * 1000:.0f} ms "
          f"({before[-1] * 1000:.0f} ms before the answering request began)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-child":
        serve_child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1", sys.argv[6])
    else:
        main()
