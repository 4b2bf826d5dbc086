"""Lookup throughput: requests per second of ``featurestore serve`` with 1 and N worker
processes, of the Lambda handler invoked in process, and the cache's hit rate on a Zipf
key stream. Run by ``bench/lookup.py`` (``--only fleet``), which seeds the data.

What runs, all on this machine (2 cores here: the load generator, the server and
DynamoDB Local share them, so the figures are a floor for one machine, not a ceiling
per core):

1. ``featurestore serve --workers N --no-cache`` (N from ``--workers``), a real process
   found on its port, driven by CLIENTS load-generating processes holding CONNECTIONS
   keep-alive connections each, one request in flight per connection (closed loop):
   single-key GETs (20 features of 3 views) and 100-key POSTs (7 features of 1 view),
   keys drawn at random from the seeded users, so every request reads DynamoDB Local.
   Requests per second over the run, with p50 and p99 of each request's time.
2. The Lambda handler (``featurestore.lookup.handler.handler``), imported in a process
   of its own with the Lambda's environment (``AWS_LAMBDA_FUNCTION_NAME`` set: JSON
   logs, EMF metrics and the serving log on stdout, here /dev/null; cache off) and
   invoked back to back with API Gateway events: one request at a time, as a Lambda
   container runs them, so its requests per second are the per-container ceiling.
3. The cache (``lookup/cache.py``, its defaults: 100,000 entries, 1 s TTL) fed the item
   keys of a Zipf stream over 100M entities (the issue's 100M+; exponents around the
   demo data's merchant popularity, 1.1), on a simulated clock, at a given request rate
   per process: the share of items served from the cache.
"""

from __future__ import annotations

import json
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from lookup_data import USERS, VIEWS, line, percentiles  # bench/, beside this script

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
CLIENTS = 2  # load-generating processes
CONNECTIONS = 8  # keep-alive connections per load generator
ZIPF_ENTITIES = 100_000_000
ZIPF_EXPONENTS = (0.8, 1.0, 1.1, 1.2)  # 1.1: the demo data's merchant popularity
ZIPF_RATES = (100, 1_000, 10_000)  # requests per second reaching one process
ZIPF_SECONDS = 10  # simulated (ten TTLs: the rate settles in the first)


# -- requests ------------------------------------------------------------------------------
def single_refs() -> str:
    return ",".join(f"{v}:{f}" for v, feats in VIEWS.items() for f, _ in feats)


def batch_body(start: int) -> str:
    return json.dumps({"entity": "user", "features": [
        f"bench_activity:{f}" for f, _ in VIEWS["bench_activity"]],
        "keys": [{"user_id": i} for i in range(start, start + 100)]})


def raw_requests(kind: str, count: int = 500) -> list[str]:
    """``count`` HTTP/1.1 requests of ``kind`` ("1 key" or "100 keys"), random keys."""
    rng = random.Random(3)
    out = []
    for _ in range(count):
        if kind == "1 key":
            out.append(f"GET /v1/features/user/{rng.randrange(USERS)}?features="
                       f"{single_refs()} HTTP/1.1\r\nhost: bench\r\n\r\n")
        else:
            body = batch_body(rng.randrange(USERS - 100))
            out.append(f"POST /v1/features/retrieve HTTP/1.1\r\nhost: bench\r\ncontent-type: "
                       f"application/json\r\ncontent-length: {len(body)}\r\n\r\n{body}")
    return out


# -- the load generator, in processes of its own -------------------------------------------
def load_client(port: int, connections: int, seconds: float, requests_file: str,
                out_file: str) -> None:
    """Keep one request in flight on each of ``connections`` keep-alive connections for
    ``seconds``; write each answer's time, and the counts of errors and degraded answers."""
    requests = [r.encode("latin-1") for r in json.loads(Path(requests_file).read_text())]
    selector = selectors.DefaultSelector()
    state = {}

    def connect(index: int):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state[sock] = {"buffer": b"", "sent": 0.0, "next": index}
        selector.register(sock, selectors.EVENT_READ)
        return sock

    for index in range(connections):
        connect(index)
    samples, errors, degraded = [], 0, 0

    def send(sock) -> None:
        slot = state[sock]
        slot["next"] = (slot["next"] + connections) % len(requests)
        slot["sent"] = time.perf_counter()
        sock.sendall(requests[slot["next"]])

    for sock in state:
        send(sock)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for key, _ in selector.select(timeout=1.0):
            sock, slot = key.fileobj, state[key.fileobj]
            chunk = sock.recv(1 << 20)
            if not chunk:  # the server closed it (a refusal, a limit): count it, reconnect
                errors += 1
                selector.unregister(sock)
                sock.close()
                send(connect(state.pop(sock)["next"]))
                continue
            slot["buffer"] += chunk
            head_end = slot["buffer"].find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = slot["buffer"][:head_end].lower()
            length = int(re.search(rb"content-length: *(\d+)", head).group(1))
            if len(slot["buffer"]) < head_end + 4 + length:
                continue
            body = slot["buffer"][head_end + 4:head_end + 4 + length]
            slot["buffer"] = slot["buffer"][head_end + 4 + length:]
            samples.append(time.perf_counter() - slot["sent"])
            errors += not head.startswith(b"http/1.1 200")
            degraded += b'"degraded":true' in body
            send(sock)
    Path(out_file).write_text(json.dumps({"samples": samples, "errors": errors,
                                          "degraded": degraded}))


def drive(port: int, kind: str, seconds: float, folder: Path) -> dict:
    """CLIENTS load generators on ``port`` for ``seconds``: rps, p50, p99 (ms), counts."""
    requests_file = folder / "requests.json"
    requests_file.write_text(json.dumps(raw_requests(kind)))
    outs = [folder / f"load-{i}.json" for i in range(CLIENTS)]
    children = [subprocess.Popen([sys.executable, str(HERE), "--load-client", str(port),
                                  str(CONNECTIONS), str(seconds), str(requests_file),
                                  str(out)]) for out in outs]
    for child in children:
        if child.wait() != 0:
            raise SystemExit(f"a load generator failed (exit {child.returncode})")
    samples, errors, degraded = [], 0, 0
    for out in outs:
        found = json.loads(out.read_text())
        samples += found["samples"]
        errors += found["errors"]
        degraded += found["degraded"]
    result = percentiles(samples)
    result.update(rps=len(samples) / seconds, errors=errors, degraded=degraded)
    return result


# -- featurestore serve, a real process ----------------------------------------------------
@contextmanager
def serving(project: Path, env: dict, workers: int):
    """``featurestore serve --workers N`` on a free port: yields the port; SIGTERM after."""
    log = project / f"serve-{workers}.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "featurestore"), "--project-dir", str(project),
             "serve", "--port", "0", "--workers", str(workers), "--no-cache",
             "--deadline-ms", "1000", "--log-sample", "0"],
            stderr=stderr, stdout=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (found := re.search(r"on http://127\.0\.0\.1:(\d+) ", log.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"featurestore serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield int(found.group(1))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def warm(port: int, kind: str, folder: Path) -> None:
    drive(port, kind, 3.0, folder)  # every worker built, DynamoDB Local's JIT warm


# -- the Lambda handler, in a process of its own -------------------------------------------
def lambda_env(endpoint: str, table: str, snapshot: Path) -> dict:
    return {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "bench-lookup",
            "AWS_DEFAULT_REGION": "us-east-1", "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint,
            "FEATURESTORE_ONLINE_TABLE": table, "FEATURESTORE_REGISTRY": str(snapshot),
            "FEATURESTORE_ALLOW_ANONYMOUS": "true", "FEATURESTORE_LOOKUP_CACHE": "false",
            "FEATURESTORE_LOOKUP_DEADLINE_MS": "1000"}


def lambda_child(kind: str, seconds: float, out_file: str) -> None:
    """Invoke the handler back to back for ``seconds`` (after a warm-up), one at a time.

    Each invocation is timed twice: the handler's call alone, and the call with what
    Lambda's Python runtime client does around it in the same process (decode the
    invoke's JSON body into the event, encode the answer as JSON to post it back). Not
    timed: the runtime client's two HTTP calls to the Runtime API inside the sandbox
    (fetch the next invoke, post the answer), which a process here has no counterpart of."""
    sys.path.insert(0, str(ROOT))
    from featurestore.lookup.handler import handler
    from featurestore.lookup.http_server import to_event

    bodies = []
    for raw in raw_requests(kind):
        head, _, body = raw.partition("\r\n\r\n")
        method, target, _ = head.split("\r\n")[0].split(" ")
        bodies.append(json.dumps(to_event(method, target, {"content-type": "application/json"},
                                          body.encode() or None)).encode())
    for body in bodies[:50]:
        json.dumps(handler(json.loads(body)))
    samples, runtime, degraded, index = [], [], 0, 0
    end = time.perf_counter() + seconds
    while (started := time.perf_counter()) < end:
        event = json.loads(bodies[index % len(bodies)])
        called = time.perf_counter()
        answer = handler(event)
        returned = time.perf_counter()
        json.dumps(answer)
        runtime.append(time.perf_counter() - started)
        samples.append(returned - called)
        degraded += answer["statusCode"] != 200 or '"degraded":true' in answer["body"]
        index += 1
    Path(out_file).write_text(json.dumps({"samples": samples, "runtime": runtime,
                                          "degraded": degraded}))


def lambda_run(env: dict, kind: str, seconds: float, folder: Path) -> tuple[dict, dict]:
    """(the handler's call, the call with the runtime's JSON around it): p50, p99, p99.9
    and requests a second one at a time (the reciprocal of the mean)."""
    out = folder / "lambda.json"
    subprocess.run([sys.executable, str(HERE), "--lambda-child", kind, str(seconds), str(out)],
                   env=env, stdout=subprocess.DEVNULL, check=True)
    found = json.loads(out.read_text())
    results = []
    for name in ("samples", "runtime"):
        result = percentiles(found[name])
        result.update(rps=len(found[name]) / sum(found[name]), degraded=found["degraded"],
                      errors=0)
        results.append(result)
    return results[0], results[1]


# -- the cache on a Zipf stream ------------------------------------------------------------
def zipf_ranks(rng: random.Random, count: int, exponent: float, n: int) -> list[int]:
    """``count`` ranks in [1, n] drawn from Zipf(``exponent``) by inverting the continuous
    approximation of its CDF (exact enough at 100M entities; no table of n weights)."""
    import math

    if exponent == 1.0:
        return [min(n, int(math.exp(rng.random() * math.log(n + 1)))) for _ in range(count)]
    a = 1.0 - exponent
    top = (n + 1) ** a - 1.0
    return [min(n, max(1, int((rng.random() * top + 1.0) ** (1.0 / a))))
            for _ in range(count)]


def zipf_hit_rate(exponent: float, rate: float, catalog) -> float:
    """The share of single-key requests (all 3 views' items) served from the cache at
    ``rate`` requests per second reaching one process, for ZIPF_SECONDS simulated."""
    from featurestore.lookup.cache import TTLCache

    clock = {"now": 0.0}
    cache = TTLCache(clock=lambda: clock["now"])  # the defaults: 100,000 entries, 1 s
    plans = [(f"{view}#v1", tuple(catalog.views[view].features)) for view in VIEWS]
    rng = random.Random(11)
    count = int(rate * ZIPF_SECONDS)
    for index, rank in enumerate(zipf_ranks(rng, count, exponent, ZIPF_ENTITIES)):
        clock["now"] = index / rate
        for sk, features in plans:
            key = (f"user#{rank}", sk)
            if cache.get(key, features) is None:
                cache.put(key, features, (0, {f.name: 0 for f in features}))
    return cache.hits / (cache.hits + cache.misses)


# -- the whole part ------------------------------------------------------------------------
def run(seconds: float, worker_counts: list[int], endpoint: str, table: str, project: Path,
        catalog, zipf: bool = True) -> list[str]:
    """Every figure of the module docstring, as printable lines (the cache's hit rates
    only with ``zipf``)."""
    from featurestore.lookup.registry_snapshot import write_snapshot

    env = {**os.environ, "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint,
           "FEATURESTORE_ONLINE_TABLE": table}
    lines = [f"lookup throughput: {seconds:.0f} s per figure; {CLIENTS} load generators x "
             f"{CONNECTIONS} connections (closed loop); cache off; DynamoDB Local in memory"]
    for workers in worker_counts:
        with serving(project, env, workers) as port:
            for kind in ("1 key", "100 keys"):
                print(f"serve --workers {workers}, {kind} ...", file=sys.stderr)
                warm(port, kind, project)
                lines.append(fleet_line(f"serve --workers {workers}, {kind}",
                                        drive(port, kind, seconds, project)))
    snapshot = project / "registry.json"
    write_snapshot(catalog, snapshot)
    for kind in ("1 key", "100 keys"):
        print(f"Lambda handler in process, {kind} ...", file=sys.stderr)
        call, runtime = lambda_run(lambda_env(endpoint, table, snapshot), kind, seconds,
                                   project)
        lines.append(fleet_line(f"Lambda handler in process, {kind}", call))
        lines.append(fleet_line(f"  with the runtime's JSON, {kind}", runtime))
    if not zipf:
        return lines
    lines.append(f"cache hit rate, Zipf over {ZIPF_ENTITIES:,} users, single-key requests "
                 f"(3 items each), {ZIPF_SECONDS} s simulated, 100,000 entries, 1 s TTL:")
    for exponent in ZIPF_EXPONENTS:
        print(f"Zipf {exponent} ...", file=sys.stderr)
        rates = [f"{rate:,} req/s {zipf_hit_rate(exponent, rate, catalog):6.1%}"
                 for rate in ZIPF_RATES]
        lines.append(f"  exponent {exponent}: " + ";  ".join(rates))
    return lines


def fleet_line(label: str, result: dict) -> str:
    extra = (f"  errors {result['errors']}, degraded {result['degraded']}"
             if result["errors"] or result["degraded"] else "")
    return line(label, result) + extra


if __name__ == "__main__":
    if sys.argv[1] == "--load-client":
        load_client(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5],
                    sys.argv[6])
    elif sys.argv[1] == "--lambda-child":
        lambda_child(sys.argv[2], float(sys.argv[3]), sys.argv[4])
