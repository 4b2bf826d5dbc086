"""`featurestore run`: cycles that land, build, gate and publish what arrived; one at a
time; SIGTERM finishes the cycle first; a SIGKILL mid-cycle loses nothing.

The project is this repository's demo over a small generated history in a temporary
folder, with its own DuckDB file and DynamoDB table; new events arrive as the stream of
`featurestore demo-data --stream` does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys

import duckdb
import pytest

from featurestore.demo_data import generate
from featurestore.demo_stream import stream
from featurestore.online.client import ensure_table
from featurestore.online.config import OnlineConfig
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
SCRIPT = [sys.executable, "-c", "from featurestore.apps.cli import main; main()"]


def _environment(base, endpoint: str, table: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("FEATURESTORE_")},
            "FEATURESTORE_LANDING_DIR": str(base / "landing"),
            "FEATURESTORE_DUCKDB_PATH": str(base / "warehouse" / "demo.duckdb"),
            "DBT_TARGET_PATH": str(base / "target"),
            "FEATURESTORE_SERVING_LOG_DIR": str(base / "serving_log"),
            "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint, "FEATURESTORE_ONLINE_TABLE": table}


def featurestore(env, *args, **kwargs):
    return subprocess.run([*SCRIPT, "--project-dir", str(REPO_ROOT), *args], env=env,
                          capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture
def world(tmp_path, dynamodb_local):
    """A built demo (150 users, 5 days ending now), synced once; returns (base, env)."""
    base = tmp_path / "world"
    table = f"fs_loop_{tmp_path.name[-20:]}".replace("-", "_")
    env = _environment(base, dynamodb_local, table)
    generate(base / "landing", users=150, days=5, seed=11,
             end=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0))
    ensure_table(OnlineConfig(endpoint=dynamodb_local).client(), table, ttl=False)
    for step in (["ingest"], ["build", "--quiet"], ["sync", "--no-gate"]):
        done = featurestore(env, *step)
        assert done.returncode == 0, done.stderr[-3000:]
    return base, env


def _new_events(base, seconds: float = 0.3) -> int:
    return stream(base / "landing", rate=300, every=0.1, duration=seconds, seed=5).events


def _cycles(base) -> list[dict]:
    with duckdb.connect(str(base / "warehouse" / "demo.duckdb"), read_only=True) as con:
        columns = [c[0] for c in con.execute("describe featurestore.loop_cycles").fetchall()]
        rows = con.execute("select * from featurestore.loop_cycles order by started_at")
        return [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]


def test_a_cycle_lands_builds_and_publishes_the_new_events(world):
    base, env = world
    events = _new_events(base)
    done = featurestore(env, "run", "--once", "--no-gate")
    assert done.returncode == 0, done.stderr[-3000:]
    (cycle,) = _cycles(base)
    assert cycle["status"] == "ok", cycle["message"]
    assert (cycle["files"], cycle["events"]) == (
        len(list((base / "landing" / "transactions").glob("stream-*.parquet"))), events)
    # the loop's first cycle builds every view over what landed before it (the history
    # ingested outside the loop), then only what new files reach
    assert cycle["models_built"] == 4
    assert cycle["items_written"] > 0
    assert {"device_seen_before", "merchant_risk", "user_transactions"} <= set(
        json.loads(cycle["rows_changed"]))
    lags = json.loads(cycle["freshness_lag"])
    assert 0 <= lags["user_transactions"] < 600
    assert all(cycle[f"{stage}_seconds"] > 0 for stage in ("ingest", "build", "sync"))
    # nothing new: a cycle that ingests nothing builds and writes nothing
    again = featurestore(env, "run", "--once", "--no-gate")
    assert again.returncode == 0
    assert (_cycles(base)[-1]["files"], _cycles(base)[-1]["models_built"]) == (0, 0)


def test_one_cycle_at_a_time(world):
    base, env = world
    from featurestore.apps.loop import cycle_lock
    from featurestore.project import Project

    os.environ.update(env)
    try:
        project = Project(REPO_ROOT)
        with cycle_lock(project):
            done = featurestore(env, "run", "--once")
    finally:
        for name in env:
            if name.startswith("FEATURESTORE_") or name == "DBT_TARGET_PATH":
                os.environ.pop(name, None)
    assert done.returncode == 1
    assert f"another `featurestore run` (pid {os.getpid()}) is running a cycle" in done.stderr


def test_sigterm_finishes_the_cycle_then_exits(world):
    base, env = world
    _new_events(base)
    process = subprocess.Popen([*SCRIPT, "--project-dir", str(REPO_ROOT), "run", "--every",
                                "1s", "--no-gate"], env=env, stderr=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.startswith("run: ingest:"):  # the first cycle is under way
            break
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=600)  # a deadline: the cycle runs a dbt build
    assert process.returncode == 0, err
    assert "SIGTERM: finishing the cycle in progress, then stopping" in err
    cycles = _cycles(base)
    assert [c["status"] for c in cycles] == ["ok"]
    assert cycles[0]["items_written"] > 0


def test_a_stopped_loop_turns_hot_views_stale_and_metrics_show_the_lag(world, dynamodb_local):
    """Once the loop stops, nothing refreshes the hot views: at an age of exactly their
    freshness_slo (1h) a value is still PRESENT, a microsecond later it is STALE, and
    /metrics shows the lag of each view growing with the endpoint's clock."""
    import pyarrow.parquet as pq

    from featurestore.contracts import load_catalog
    from featurestore.lookup.http_server import BackgroundServer
    from featurestore.lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
    from featurestore.online.items import to_epoch_micros, view_sk
    from tests.lookup.lookup_testkit import call, make_app

    base, env = world
    _new_events(base)
    done = featurestore(env, "run", "--once", "--no-gate")  # one cycle, then the loop stops
    assert done.returncode == 0, done.stderr[-3000:]
    events = pq.read_table(list((base / "landing" / "transactions").glob("stream-*.parquet")))
    newest = events.sort_by([("transacted_at", "descending")]).slice(0, 1).to_pylist()[0]
    hot = {"user_transactions": ("user", newest["user_id"]),
           "merchant_risk": ("merchant", newest["merchant_id"])}
    catalog = catalog_from_snapshot(build_snapshot(load_catalog(REPO_ROOT / "feature_defs")))
    client = OnlineConfig(endpoint=dynamodb_local).client()
    table = env["FEATURESTORE_ONLINE_TABLE"]
    stored = {}  # view -> the feature_ts of the hot key's item, as the loop published it
    for view, (entity, key) in hot.items():
        item = client.get_item(TableName=table, Key={
            "pk": {"S": f"{entity}#{key}"}, "sk": {"S": view_sk(catalog.views[view])}})["Item"]
        stored[view] = int(item["feature_ts"]["N"])
        # the loop published the newest event itself (feature_ts = its event time)
        assert stored[view] == to_epoch_micros(newest["transacted_at"])
    clock = {"now": None}
    app = make_app(catalog, client, table, clock=lambda: clock["now"])
    with BackgroundServer(app) as url:
        def status_at(view: str, age_us: int) -> str:
            entity, key = hot[view]
            clock["now"] = (dt.datetime(1970, 1, 1)
                            + dt.timedelta(microseconds=stored[view] + age_us))
            feature = catalog.views[view].feature_names[0]
            answer = call(url, f"/v1/features/{entity}/{key}?features={view}:{feature}")
            assert answer.status == 200, answer.body
            return answer.body["results"][0]["features"][f"{view}:{feature}"]["status"]

        slo_us = 3600 * 10**6
        for view in hot:
            assert catalog.views[view].freshness_slo_seconds == 3600
            assert status_at(view, 60 * 10**6) == "PRESENT"  # the loop kept it fresh
            assert status_at(view, slo_us) == "PRESENT"  # exactly the SLO: not yet stale
            assert status_at(view, slo_us + 1) == "STALE"
        # /metrics, read at the clock the last answer used: each view's lag is the age of
        # the newest value served for it, and grows as long as the loop stays stopped
        metrics = call(url, "/metrics").body  # anonymous: no key is configured
        lag = {view: (clock["now"] - dt.datetime(1970, 1, 1)
                      - dt.timedelta(microseconds=stored[view])).total_seconds()
               for view in hot}
        assert lag["merchant_risk"] == 3600.000001
        for view in hot:
            assert f'featurestore_lookup_lag_seconds{{view="{view}"}} {round(lag[view], 3)!r}\n' \
                in metrics
        assert 'featurestore_lookup_values_total{status="STALE",view="user_transactions"} 1.0' \
            in metrics
        clock["now"] += dt.timedelta(minutes=10)
        later = call(url, "/metrics").body
        assert (f'featurestore_lookup_lag_seconds{{view="merchant_risk"}} '
                f'{round(lag["merchant_risk"] + 600, 3)!r}\n') in later


def _rounded(value):
    """Floats to 9 significant digits: DuckDB's parallel window sums may differ in the
    last bit from one run to the next."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict) and set(value) == {"N"}:
        return {"N": f"{float(value['N']):.9g}"}
    return value


def _state(base, endpoint: str, table: str) -> tuple:
    """The feature tables and the DynamoDB items, comparable across two worlds."""
    with duckdb.connect(str(base / "warehouse" / "demo.duckdb"), read_only=True) as con:
        tables = {name: sorted(tuple(_rounded(v) for v in row) for row in con.execute(
            f"select * exclude (loaded_at) from main.{name}").fetchall())
                  for name in ("fs_user__transactions", "fs_merchant__risk",
                               "fs_user_device__seen")}
    client = OnlineConfig(endpoint=endpoint).client()
    items, request = [], {"TableName": table}
    while True:
        page = client.scan(**request)
        items += [{k: _rounded(v) for k, v in item.items() if k != "written_at"}
                  for item in page["Items"] if not item["pk"]["S"].startswith("_")]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return tables, sorted(json.dumps(i, sort_keys=True) for i in items)


def test_a_sigkill_mid_cycle_then_a_restart_converges(world, tmp_path, dynamodb_local):
    """Two copies of one world get the same new events; one cycle runs uninterrupted in
    the first, the second is killed mid-cycle and started again: the same tables and
    the same DynamoDB items."""
    base, env = world
    _new_events(base)
    twin = tmp_path / "twin"
    shutil.copytree(base, twin)
    twin_table = env["FEATURESTORE_ONLINE_TABLE"] + "_twin"
    client = OnlineConfig(endpoint=dynamodb_local).client()
    ensure_table(client, twin_table, ttl=False)
    items = client.scan(TableName=env["FEATURESTORE_ONLINE_TABLE"])["Items"]
    for item in items:
        client.put_item(TableName=twin_table, Item=item)
    twin_env = {**_environment(twin, dynamodb_local, twin_table)}

    assert featurestore(env, "run", "--once", "--no-gate").returncode == 0
    process = subprocess.Popen([*SCRIPT, "--project-dir", str(REPO_ROOT), "run", "--once",
                                "--no-gate"], env=twin_env, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True)
    for line in process.stderr:
        if line.startswith("run: build:") and "rebuilt" in line:  # built; the sync is next
            break
    process.kill()
    process.wait()
    assert [c["status"] for c in _cycles(twin)] == ["running"]
    done = featurestore(twin_env, "run", "--once", "--no-gate")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 cycle(s) of a killed run marked interrupted" in done.stderr
    assert [c["status"] for c in _cycles(twin)] == ["interrupted", "ok"]
    (twin_tables, twin_items) = _state(twin, dynamodb_local, twin_table)
    (tables, items) = _state(base, dynamodb_local, env["FEATURESTORE_ONLINE_TABLE"])
    for name, rows in tables.items():
        assert twin_tables[name] == rows, (
            f"{name}: only after the kill {sorted(set(twin_tables[name]) - set(rows))[:3]}; "
            f"only uninterrupted {sorted(set(rows) - set(twin_tables[name]))[:3]}")
    assert twin_items == items, (
        f"only after the kill {sorted(set(twin_items) - set(items))[:2]}; only "
        f"uninterrupted {sorted(set(items) - set(twin_items))[:2]}")
