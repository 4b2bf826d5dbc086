"""Lookup latency, end to end on this machine: server and DynamoDB Local included.

    python bench/lookup.py                # 60 s per scenario
    python bench/lookup.py --seconds 10   # a quick run
    python bench/lookup.py --only fleet --workers 1,2,4   # throughput (bench/lookup_fleet.py)
    python bench/lookup.py --only lambda --seconds 30    # its Lambda handler part alone
    python bench/lookup.py --only on-demand              # bench/lookup_on_demand.py

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

6. on-demand features (``bench/lookup_on_demand.py``): the same requests with 10
   expressions and without, the Lambda zip's size and cold-start import.
7. throughput (``bench/lookup_fleet.py``, its docstring says how): requests per second
   with p50 and p99 of ``featurestore serve --workers N`` for each N of ``--workers``, at
   1 key and at 100 keys; the same of the Lambda handler invoked in process (the
   per-container ceiling); the cache's hit rate on a Zipf key stream.

The machine's load average is printed with the figures, before and after the run.

Targets (2-core machine): single-key p99 < 5 ms; 100-key batch p99 <= 1.15 x the raw
floor of the same run; in-process warm lookup() p99 < 0.2 ms; single-key p99 with a
shadow within noise of the same run without; promotion visible within the lookup's
refresh interval (FEATURESTORE_LOOKUP_VERSION_REFRESH_MS, 1 s) plus one request.

Feature services: ``python bench/lookup.py --services`` runs only
``bench/lookup_services.py`` (a vector of 50 features with 20 transformations against
the plain lookup of the same features; target <= 1.2 x), on its own DynamoDB Local.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lookup_data import (
    HOT_USERS,
    PROMOTIONS,
    USERS,
    VIEWS,
    line,
    percentiles,
    seed,
    time_lookups,
    write_project,
)
from lookup_on_demand import run as run_on_demand  # bench/, beside this script
from lookup_on_demand import write_on_demand

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# -- the server, in a child process --------------------------------------------------------
def serve_child(project: str, endpoint: str, table: str, cache: bool, port_file: str) -> None:
    from featurestore.lookup.cache import TTLCache
    from featurestore.lookup.handler import LookupApp
    from featurestore.lookup.http_server import make_server
    from featurestore.online.config import OnlineConfig
    from featurestore.online.dynamodb import DynamoDBStore
    from featurestore.project import Project

    catalog = Project(Path(project)).catalog()
    store = DynamoDBStore.for_lookup(OnlineConfig(endpoint=endpoint, table=table),
                                     deadline_s=0.5)
    app = LookupApp(catalog, store,
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
    from featurestore.online.dynamodb import DynamoDBStore
    from featurestore.online.serving import Pointer

    store = DynamoDBStore.over(client, table)

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
        current = store.read_pointers(["bench_activity"])["bench_activity"]
        store.write_pointer(Pointer(
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


def latency(seconds: float, endpoint: str, client, table: str, catalog, project: Path,
            children: list) -> tuple[dict, dict]:
    """Scenarios 1 to 5 of the module docstring: (results by name, in-process lookup())."""
    from featurestore.lookup import service
    from featurestore.lookup.cache import TTLCache
    from featurestore.online.dynamodb import DynamoDBStore
    from featurestore.online.retry import LOOKUP_RETRY

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
    reader = DynamoDBStore.over(client, table, deadline_s=1.0, retry=LOOKUP_RETRY)
    requests = [service.entity_request(catalog, "user", [{"user_id": 5}], refs)]
    service.lookup(requests, reader, cache=cache)
    inproc = time_lookups(requests, reader, cache, 200_000)

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
            results["single_warm"] = closed_loop(seconds, single)
            print("100-key batch, cache warm ...", file=sys.stderr)
            results["batch_warm"] = closed_loop(seconds, batch)
        else:
            print("single key, cache cold, interleaved with the raw floor ...",
                  file=sys.stderr)
            results["single_cold"], results["raw_single"] = interleaved(
                seconds, single, raw_single)
            print("100-key batch, cache cold, interleaved with the raw floor ...",
                  file=sys.stderr)
            results["batch_cold"], results["raw_batch"] = interleaved(
                seconds, batch, raw_batch)
            # 5. feature versions, after the figures above (on fresh connections)
            print("single key, cache cold, with and without a shadow version ...",
                  file=sys.stderr)
            plain = http_caller(port, "GET", lambda: (
                f"/v1/features/user/{rng.randrange(USERS)}?features={refs}"))
            shadowed = http_caller(port, "GET", lambda: (
                f"/v1/features/user/{rng.randrange(USERS)}?features={refs}"
                "&shadow=bench_activity@v2"))
            results["plain"], results["shadowed"] = interleaved(
                seconds, plain, shadowed)
            print(f"promotion visibility, {PROMOTIONS} flips ...", file=sys.stderr)
            results["visible"] = promotion_visibility(port, client, table, rng)
        child.terminate()
        child.wait()
    return results, inproc


def report(seconds: float, results: dict, inproc: dict) -> None:
    print(f"\nlookup benchmark: {seconds:.0f} s per scenario, 1 closed-loop client, "
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per scenario")
    parser.add_argument("--endpoint", help="an already running DynamoDB (default: start one)")
    parser.add_argument("--only", choices=("latency", "fleet", "lambda", "on-demand"),
                        help="only the latency, the throughput, the Lambda handler in "
                        "process (the fleet's last part) or the on-demand scenarios")
    parser.add_argument("--workers", default="1,2,4",
                        help="the worker counts of `serve --workers N` to measure")
    parser.add_argument("--services", action="store_true",
                        help="only the feature-service scenario (bench/lookup_services.py)")
    args = parser.parse_args()
    if args.services:
        services_only(args)
        return
    import signal

    # SIGTERM unwinds like an error, so the finally blocks stop DynamoDB Local and the servers
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig
    from featurestore.online.local import LocalDynamoDB
    from featurestore.project import Project

    loads = [load_average()]
    local = None
    endpoint = args.endpoint
    if not endpoint:
        local = LocalDynamoDB(ROOT)
        endpoint = local.start()
    children = []
    results = inproc = fleet = on_demand = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            write_project(project)
            write_on_demand(project)
            catalog = Project(project).catalog()
            table = "bench_lookup"
            client = OnlineConfig(endpoint=endpoint).client(max_pool_connections=32)
            ensure_table(client, table)
            print(f"seeding {USERS} users x {len(VIEWS)} views ...", file=sys.stderr)
            t0 = time.perf_counter()
            seed(client, table, catalog)
            print(f"seeded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            if args.only in (None, "latency"):
                results, inproc = latency(args.seconds, endpoint, client, table, catalog,
                                          project, children)
            if args.only in (None, "on-demand"):
                on_demand = run_on_demand(args.seconds, {
                    "start_server": start_server, "interleaved": interleaved,
                    "http_caller": http_caller, "line": line,
                    "endpoint": endpoint}, client, table, catalog, project, children)
            if args.only in (None, "fleet", "lambda"):
                from lookup_fleet import run as fleet_run

                workers = [] if args.only == "lambda" else [
                    int(n) for n in args.workers.split(",")]
                fleet = fleet_run(args.seconds, workers, endpoint, table, project, catalog,
                                  zipf=args.only != "lambda")
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
        if local:
            local.stop()
    loads.append(load_average())
    print(f"\nload average (1, 5, 15 min) before: {loads[0]}; after: {loads[1]}")
    if results is not None:
        report(args.seconds, results, inproc)
    if on_demand is not None:
        print("\n" + "\n".join(on_demand))
    if fleet is not None:
        print()
        print("\n".join(fleet))


def services_only(args) -> None:
    """``--services``: a feature service's vector against the plain lookup of the same
    stored features (bench/lookup_services.py), with the load before and after."""
    from lookup_services import run as run_services

    from featurestore.online.local import LocalDynamoDB

    loads = [load_average()]
    local = None if args.endpoint else LocalDynamoDB(ROOT)
    try:
        lines = run_services(args.seconds, args.endpoint or local.start())
    finally:
        if local:
            local.stop()
    loads.append(load_average())
    print(f"\nload average (1, 5, 15 min) before: {loads[0]}; after: {loads[1]}")
    print("\n".join(lines))


def load_average() -> str:
    """The machine's load (``uptime``'s three figures): every figure is printed beside
    it, since the machine may be shared."""
    import os

    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-child":
        serve_child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1", sys.argv[6])
    else:
        main()
