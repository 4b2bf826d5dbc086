"""Crash safety: SIGKILL the sync worker mid-run, run it again, DynamoDB equals the warehouse."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from featurestore.sync import state as sync_state
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
from tests.conftest import REPO_ROOT
from tests.online.conftest import AS_OF, T0, TXNS, assert_online_equals_warehouse, txn_row
from tests.online_stores import store_for
from tests.waiting import wait_until

ENTITIES = 3_000

WORKER = textwrap.dedent("""
    import datetime as dt, sys
    from featurestore.online.config import OnlineConfig
    from featurestore.project import Project
    from featurestore.warehouse import Warehouse
    from featurestore.sync.worker import SyncOptions, sync_view
    from tests.online.conftest import TXNS
    from tests.online_stores import PausingClient, store_for
    root, endpoint, table, as_of, paused = sys.argv[1:6]

    with Warehouse(Project(root)) as warehouse:
        client = PausingClient(OnlineConfig(endpoint=endpoint).client(), paused)
        sync_view(warehouse, store_for(client, table), TXNS,
                  SyncOptions(as_of=dt.datetime.fromisoformat(as_of), threads=2,
                              batch_size=200, lookback=dt.timedelta(0)))
""")


def _count(client, table: str) -> int:
    return client.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"]


@pytest.mark.slow
def test_sigkill_mid_sync_then_rerun_equals_warehouse(online_project, dynamodb_table,
                                                      dynamodb_local, tmp_path):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        rows = [txn_row(u, T0 + dt.timedelta(hours=h), T0 + dt.timedelta(hours=h, minutes=5),
                        scale=h + 1) for u in range(1, ENTITIES + 1) for h in (0, 1)]
        warehouse.connection.executemany(
            f"insert into fs_user__transactions values ({', '.join('?' * 12)})", rows)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    paused = tmp_path / "paused"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(online_project.root), dynamodb_local, table,
         AS_OF.isoformat(), str(paused)], cwd=REPO_ROOT, env=env,
    )
    try:
        wait_until(lambda: paused.exists() or worker.poll() is not None,
                   "the worker to write 500 items")
        assert worker.poll() is None, "the worker ended before it could be killed"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    written_before_kill = _count(client, table) - 1  # minus the first-load marker
    assert 500 <= written_before_kill < ENTITIES

    with Warehouse(online_project) as warehouse:
        crashed = sync_state.load(warehouse, "user_transactions", 1)
        assert (crashed.status, crashed.watermark) == ("running", None)
        # the warehouse moves on while the worker is down
        warehouse.connection.executemany(
            f"insert into fs_user__transactions values ({', '.join('?' * 12)})",
            [txn_row(u, T0 + dt.timedelta(hours=5), T0 + dt.timedelta(hours=6), scale=7)
             for u in (1, 2, ENTITIES)],
        )
        rerun = sync_view(warehouse, store_for(client, table), TXNS,
                          SyncOptions(as_of=AS_OF, lookback=dt.timedelta(0)))
        online = assert_online_equals_warehouse(warehouse, client, table, TXNS)
        state = sync_state.load(warehouse, "user_transactions", 1)
    assert len(online) == ENTITIES
    # the dead loader's claim was taken over: the rerun wrote conditionally
    assert rerun.mode == "conditional (TransactWriteItems)"
    # the items written before the kill hold their rows already (but the 3 changed ones)
    assert (rerun.rows_read, rerun.written + rerun.unchanged, rerun.skipped) == (
        ENTITIES, ENTITIES, 0)
    assert written_before_kill - 3 <= rerun.unchanged <= written_before_kill
    assert state.status == "ok"
    assert state.watermark == T0 + dt.timedelta(hours=6)
