"""A feature service's vector against a plain lookup of the same stored features.

    python bench/lookup_services.py --seconds 20
    python bench/lookup.py --services --seconds 20   # the same, from the lookup bench

A throwaway project with one user view of 50 features (20 int64, 20 float64, 10 string),
USERS users seeded in a DynamoDB Local of its own (in memory), and a service reading the
50 features with 20 transformations (4 of each numeric kind, 2 one_hot over 8 values,
2 index over 8), their parameters written in as a frozen set would hold them. The
Lambda handler is called in process (``LookupApp.handle`` with an API Gateway event: the
request's parsing, the lookup, the statuses, the JSON), the service route and the plain
route interleaved request by request (so the machine's load hits both alike), each on a
random key: with the cache off (a BatchGetItem per request) and with it warm (the
transformations' own cost, nothing hidden behind DynamoDB).

Target (issue 20): the service's vector costs at most 1.2x the plain lookup of the same
stored features.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

USERS = 2_000
FEATURES = ([(f"i{n}", "int64") for n in range(20)] + [(f"f{n}", "float64") for n in range(20)]
            + [(f"s{n}", "string") for n in range(10)])
WORDS = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "PL", "web", "ios", "other"]
NUMERIC = ("zscore", "min_max", "log1p", "clip", "quantile_bins")


def write_project(folder: Path) -> None:
    defs = folder / "feature_defs"
    defs.mkdir(parents=True)
    (folder / "dbt_project.yml").write_text("name: bench\n")
    (defs / "entities.yml").write_text(
        "entities:\n  - name: user\n    join_keys:\n      - {name: user_id, dtype: int64}\n"
        "    description: A customer.\n")
    lines = ["name: wide", "version: 1", "entity: user", "source: fs_wide",
             "timestamp: feature_ts", "ttl: 30d", "freshness_slo: 1h", "owner: bench",
             "description: Benchmark view.", "features:"]
    for name, dtype in FEATURES:
        lines += [f"  - name: {name}", f"    dtype: {dtype}", "    sensitivity: internal",
                  f"    description: {name}."]
    (defs / "wide.yml").write_text("\n".join(lines) + "\n")


def _params(kind: str, dtype: str) -> dict:
    if kind == "zscore":
        return {"count": 1000, "mean": 480.5, "std": 290.25}
    if kind == "min_max":
        return {"count": 1000, "min": 0, "max": 1000} if dtype == "int64" else \
            {"count": 1000, "min": 0.0, "max": 5000.0}
    if kind == "log1p":
        return {"count": 1000}
    if kind == "clip":
        low, high = (10, 990) if dtype == "int64" else (50.0, 4950.0)
        return {"count": 1000, "lower": 0.01, "upper": 0.99, "lower_rank": 10,
                "upper_rank": 990, "lower_value": low, "upper_value": high}
    if kind == "quantile_bins":
        step = 100 if dtype == "int64" else 500.0
        return {"count": 1000, "bins": 10, "ranks": list(range(100, 1000, 100)),
                "edges": [step * k for k in range(1, 10)]}
    return {"count": 1000, "max_categories": 8, "vocabulary": WORDS[:8],
            "frequencies": [100] * 8}


def service_record() -> dict:
    """The snapshot record of a service over the 50 features, 20 of them transformed."""
    features = [{"name": f"wide:{n}", "ref": f"wide:{n}", "view": "wide", "version": 1,
                 "feature": n, "dtype": d, "column": f"wide__{n}"} for n, d in FEATURES]
    chosen = ([(f"i{n}", "int64", NUMERIC[n % 5]) for n in range(8)]
              + [(f"f{n}", "float64", NUMERIC[n % 5]) for n in range(8)]
              + [("s0", "string", "one_hot"), ("s1", "string", "one_hot"),
                 ("s2", "string", "index"), ("s3", "string", "index")])
    from featurestore.feature_services.transforms import output_columns

    transformations = []
    for name, dtype, kind in chosen:
        params = _params(kind, dtype)
        transformations.append({"feature": f"wide:{name}", "kind": kind, "options": {},
                                "dtype": dtype, "params": params,
                                "columns": output_columns(f"wide__{name}", kind, params)})
    document = {"service": "wide_model", "service_version": 1, "service_hash": "0" * 64,
                "features": features, "transformations": transformations}
    return {"name": "wide_model", "version": 1, "entity": "user", "problem": None,
            "features": [f["name"] for f in features],
            "parameters": {"service": "wide_model", "service_version": 1, "version": 1,
                           "sha256": "0" * 64, "document": document}}


def seed(client, table: str, catalog) -> None:
    from featurestore.online.items import encode_item, to_epoch_micros

    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    view = catalog.views["wide"]
    batch = []
    for user_id in range(USERS):
        row = {"user_id": user_id, "feature_ts": now - dt.timedelta(minutes=10)}
        for name, dtype in FEATURES:
            row[name] = (rng.randint(0, 1000) if dtype == "int64" else
                         round(rng.uniform(0, 5000), 2) if dtype == "float64" else
                         rng.choice(WORDS))
        batch.append({"PutRequest": {"Item": encode_item(view, row, to_epoch_micros(now))}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})


def run(seconds: float, endpoint: str) -> list[str]:
    """The figures' lines, measured against the DynamoDB at ``endpoint``."""
    from lookup_data import line, percentiles

    from featurestore.lookup.access import AccessPolicy
    from featurestore.lookup.cache import TTLCache
    from featurestore.lookup.handler import LookupApp
    from featurestore.lookup.http_server import to_event
    from featurestore.lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
    from featurestore.lookup.service_vectors import services_from_snapshot
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig
    from featurestore.online.dynamodb import DynamoDBStore
    from featurestore.online.retry import LOOKUP_RETRY
    from featurestore.project import Project

    rng = random.Random(11)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        write_project(Path(tmp))
        catalog = catalog_from_snapshot(build_snapshot(Project(Path(tmp)).catalog()))
        client = OnlineConfig(endpoint=endpoint).client(max_pool_connections=8)
        table = "bench_services"
        ensure_table(client, table)
        seed(client, table, catalog)
        refs = ",".join(f"wide:{name}" for name, _ in FEATURES)
        services = services_from_snapshot({"services": {"wide_model": service_record()}})
        for warm in (False, True):
            app = LookupApp(catalog, DynamoDBStore.over(client, table, deadline_s=1.0,
                                                        retry=LOOKUP_RETRY),
                            access=AccessPolicy(None),
                            cache=TTLCache(ttl_s=3600) if warm else None, services=services)
            users = 200 if warm else USERS
            samples: dict[str, list[float]] = {"plain": [], "service": []}
            paths = {"plain": lambda u: f"/v1/features/user/{u}?features={refs}",
                     "service": lambda u: f"/v1/services/wide_model/user/{u}"}
            for name in paths:  # one of each first: the code paths warmed
                app.handle(to_event("GET", paths[name](0), {}, None))
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                for name in ("plain", "service"):
                    event = to_event("GET", paths[name](rng.randrange(users)), {}, None)
                    started = time.perf_counter()
                    answer = app.handle(event)
                    samples[name].append(time.perf_counter() - started)
                    assert answer["statusCode"] == 200, answer["body"]
            label = "cache warm" if warm else "cache cold"
            figures = {}
            for name in ("plain", "service"):
                figures[name] = percentiles(samples[name])
                figures[name]["rps"] = len(samples[name]) / sum(samples[name])
            out.append(line(f"plain, 50 features, {label}", figures["plain"]))
            out.append(line(f"service, 50 + 20 transformed, {label}", figures["service"]))
            out.append(f"  service / plain, {label}: p50 "
                       f"{figures['service']['p50'] / figures['plain']['p50']:.2f} x, p99 "
                       f"{figures['service']['p99'] / figures['plain']['p99']:.2f} x "
                       "(target <= 1.2 x)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per scenario")
    parser.add_argument("--endpoint", help="an already running DynamoDB (default: start one)")
    args = parser.parse_args()
    import os
    import signal

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    from featurestore.online.local import LocalDynamoDB

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    local = None
    endpoint = args.endpoint
    if not endpoint:
        local = LocalDynamoDB(ROOT)
        endpoint = local.start()
    try:
        lines = run(args.seconds, endpoint)
    finally:
        if local:
            local.stop()
    after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"feature service vector vs plain lookup, {args.seconds:.0f} s per scenario, "
          f"in-process handler, DynamoDB Local on this machine")
    print(f"load average (1, 5, 15 min) before: {load}; after: {after}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
