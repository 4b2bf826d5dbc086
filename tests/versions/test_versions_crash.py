"""A SIGKILL in the middle of a backfill or a retirement, then a rerun, converges: the
new version's items are its latest rows, the old version's are untouched by the
backfill and all gone after the retirement, and the registry records each once.

The kill points are lines the commands print as they go (a real process, killed with
its process group), not hooks in the code. After the retirement, the documented step
drops the retired version's warehouse table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.versions.test_versions_scenario import VIEW, version_items
from tests.versions.world import subprocess_env
from tests.waiting import wait_until


def run_until(world, marker: str, *args: str) -> tuple[bool, str]:
    """Run the CLI as a process; SIGKILL its process group once stderr shows ``marker``.
    Returns (killed, stderr so far)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from featurestore.apps.cli import main; main()",
         "--project-dir", str(world.root), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**subprocess_env(world), "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    seen = []
    try:
        for line in process.stderr:
            seen.append(line)
            if marker in line:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
                return True, "".join(seen)
        process.wait(60)
        return False, "".join(seen)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def latest_v2(world) -> dict[str, int]:
    """pk -> txn_count_24h of each user's latest row of v2 in the warehouse."""
    rows = world.sql("select user_id, txn_count_24h from main.fs_user__transactions_v2 "
                     "qualify row_number() over (partition by user_id order by feature_ts "
                     "desc, loaded_at desc) = 1")
    return {f"user#{user}": count for user, count in rows}


def test_killed_backfill_and_retire_converge_on_rerun(world):
    world.add_version_2()
    for args in (("build",), ("apply",)):
        assert world.cli(*args).exit_code == 0
    v1_before = version_items(world, 1)

    # killed during its dbt build, then again between the build and the sync
    killed, said = run_until(world, "dbt build --select", "backfill", VIEW, "--version", "2",
                             "--full-refresh")
    assert killed, said
    killed, said = run_until(world, f"syncing {VIEW} v2 to its own items", "backfill", VIEW,
                             "--version", "2")
    assert killed, said
    assert version_items(world, 1) == v1_before
    result = world.cli("backfill", VIEW, "--version", "2")
    assert result.exit_code == 0, result.output
    v2_items = version_items(world, 2)
    assert {pk: int(item["txn_count_24h"]["N"]) for pk, item in v2_items.items()} == \
        latest_v2(world)
    assert version_items(world, 1) == v1_before
    assert world.sql("select action, count(*) from featurestore.feature_versions "
                     "group by action") == [("backfill", 1)]

    # the retirement killed after its first batch of deletes
    result = world.cli("promote", VIEW, "--version", "2", "--reason", "v2")
    assert result.exit_code == 0, result.output
    # retire refuses v1 until twice the lookups' refresh interval (100 ms here) has passed
    # since the pointer moved away from it (apps/versions/retire.py)
    from featurestore.apps.versions import Store

    moved_at_us = Store.open(world.project).pointer(VIEW).changed_at_us
    grace_us = 2 * world.project.settings.lookup.version_refresh_ms * 1000
    wait_until(lambda: time.time_ns() // 1000 - moved_at_us > grace_us,
               "the lookups' refresh bound to pass since the promotion")
    killed, said = run_until(world, "item(s) deleted", "retire", VIEW, "--version", "1",
                             "--reason", "v2 live", "--batch-keys", "10")
    assert killed, said
    left = version_items(world, 1)
    assert 0 < len(left) < len(v1_before)
    assert set(left) < set(v1_before)
    # a pinned lookup of v1 is refused from now on: the pointer lists it as retired
    pinned = world.cli("lookup", "user", left_key(left), "--features",
                       f"{VIEW}@v1:txn_count_1h")
    assert pinned.exit_code == 1
    assert "retired" in pinned.output
    result = world.cli("retire", VIEW, "--version", "1", "--reason", "v2 live",
                       "--batch-keys", "10")
    assert result.exit_code == 0, result.output
    assert "resuming the retirement a stopped run began" in result.output
    assert version_items(world, 1) == {}
    assert version_items(world, 2) == v2_items
    assert world.sql("select action, count(*) from featurestore.feature_versions "
                     "group by action order by action") == [
        ("backfill", 1), ("promote", 1), ("retire_started", 1), ("retired", 1)]
    # nothing of the retirement is left in the table: no cursor, no sync markers of v1
    from featurestore.online.config import OnlineConfig

    client = OnlineConfig(endpoint=world.endpoint).client()
    markers = client.query(TableName=world.table, KeyConditionExpression="pk = :pk",
                           ExpressionAttributeValues={":pk": {"S": "_featurestore#sync"}})
    assert [i["sk"]["S"] for i in markers["Items"] if f"{VIEW}#v1" in i["sk"]["S"]] == []
    drop_retired_table(world)


def left_key(items: dict) -> str:
    return next(iter(items)).split("#", 1)[1]


def drop_retired_table(world) -> None:
    """The documented step after a retirement: mark it in the contract, remove its model,
    build, then drop its warehouse table."""
    refused = world.cli("retire", VIEW, "--version", "1", "--reason", "gone", "--drop-offline")
    assert refused.exit_code == 1
    assert "is not marked `retired: true`" in refused.output
    contract = world.root / "feature_defs" / f"{VIEW}.yml"
    contract.write_text(contract.read_text().replace(
        "    changes: The first version.\n", "    changes: The first version.\n"
        "    retired: true\n"))
    (world.root / "models" / "features" / "user" / "fs_user__transactions.sql").unlink()
    for args in (("build",), ("apply",)):
        result = world.cli(*args)
        assert result.exit_code == 0, (args, result.output)
    result = world.cli("retire", VIEW, "--version", "1", "--reason", "gone", "--drop-offline")
    assert result.exit_code == 0, result.output
    assert result.output == f'dropped "main"."fs_user__transactions" ({VIEW} v1, retired).\n'
    assert world.sql("select table_name from information_schema.tables where table_name "
                     "like 'fs_user__transactions%'") == [("fs_user__transactions_v2",)]
    assert world.sql("select action from featurestore.feature_versions order by changed_at "
                     "desc limit 1") == [("dropped",)]
