"""The demo's incremental feature models, through dbt: two cycles of landed rows, then a
--full-refresh gives the same four tables, row for row.

The rows land in the raw tables of a copy of the built demo warehouse, with loaded_at
after everything there, as `featurestore ingest` stamps them: new transactions, one
days late, exact repeats, a chargeback that lands a cycle before its transaction (the
merchant's filing counts once both have landed), a new device for a user, a profile
update.
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest

from featurestore.dbt_runner import run_dbt
from featurestore.project import Project
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

MODELS = ("fs_user__transactions", "fs_merchant__risk", "fs_user__profile",
          "fs_user_device__seen")
MINUTE = dt.timedelta(minutes=1)
# named: the raw tables also hold ingest's own column (the file each row came from)
TXN_COLUMNS = ("(transaction_id, user_id, merchant_id, device_id, amount, currency, "
               "transacted_at, loaded_at)")


def _land_first(con) -> dict:
    top, horizon, newest = con.execute(
        "select max(transaction_id), max(transacted_at), max(loaded_at) "
        "from raw.transactions").fetchall()[0]
    stamp = newest + MINUTE
    user, merchant, device = con.execute(
        "select user_id, merchant_id, device_id from raw.transactions "
        "order by transaction_id limit 1").fetchall()[0]
    rows = [  # transaction_id, user_id, merchant_id, device_id, amount, transacted_at
        (top + 1, user, merchant, device, 12.5, horizon + MINUTE),
        (top + 2, user, merchant, "d-9999999", 99.0, horizon + 2 * MINUTE),  # a new device
        (top + 3, user + 1, merchant, device, 3.25, horizon - dt.timedelta(days=2)),  # late
    ]
    con.executemany(f"insert into raw.transactions {TXN_COLUMNS} "
                    "values (?, ?, ?, ?, ?, 'USD', ?, ?)",
                    [[*row, stamp] for row in rows])
    con.execute(f"insert into raw.transactions by name select * replace (timestamp "
                f"'{stamp}' as loaded_at) from raw.transactions where transaction_id <= 3")
    # a filing whose transaction (top + 4) lands next cycle
    con.execute("insert into raw.chargebacks (transaction_id, filed_at, reason, loaded_at) "
                "values (?, ?, 'fraudulent', ?)",
                [top + 4, horizon + 3 * MINUTE, stamp])
    con.execute("insert into raw.profile_updates (user_id, updated_at, country, is_verified, "
                "kyc_level, loaded_at) select user_id, ?, 'DE', true, 2, ? "
                "from raw.profile_updates where user_id = ? limit 1",
                [horizon - dt.timedelta(hours=5), stamp, user])
    return {"top": top, "horizon": horizon, "stamp": stamp, "user": user,
            "merchant": merchant, "device": device}


def _land_second(con, first: dict) -> None:
    stamp = first["stamp"] + MINUTE
    con.execute(f"insert into raw.transactions {TXN_COLUMNS} "
                "values (?, ?, ?, ?, 40.0, 'USD', ?, ?)",
                [first["top"] + 4, first["user"] + 2, first["merchant"], first["device"],
                 first["horizon"] - dt.timedelta(days=1), stamp])
    con.execute(f"insert into raw.transactions {TXN_COLUMNS} "
                "values (?, ?, ?, ?, 5.0, 'USD', ?, ?)",
                [first["top"] + 5, first["user"], first["merchant"], first["device"],
                 first["horizon"] + dt.timedelta(hours=2), stamp])


def _tables(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {model: con.execute(f"select * from main.{model} order by all").fetchall()
                for model in MODELS}


def test_two_incremental_cycles_equal_a_full_refresh(demo_project, tmp_path):
    database = tmp_path / "demo.duckdb"
    shutil.copy(demo_project.duckdb_path, database)
    env = {**demo_project.env, "FEATURESTORE_DUCKDB_PATH": str(database),
           "DBT_TARGET_PATH": str(tmp_path / "target")}
    logs = ["--log-path", str(tmp_path / "logs")]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        project = Project(REPO_ROOT)
        before = _tables(database)
        with duckdb.connect(str(database)) as con:
            first = _land_first(con)
        run_dbt(project, ["build", "--select", "features", *logs])
        after_first = _tables(database)
        with duckdb.connect(str(database)) as con:
            _land_second(con, first)
        run_dbt(project, ["build", "--select", "features", *logs])
        incremental = _tables(database)
        run_dbt(project, ["run", "--full-refresh", "--select", "features", *logs])
        rebuilt = _tables(database)
    assert incremental == rebuilt
    grew = {model: len(after_first[model]) - len(before[model]) for model in MODELS}
    assert all(grew[model] > 0 for model in MODELS), grew
    # the filing counted only once its transaction had landed, with that loaded_at
    with duckdb.connect(str(database), read_only=True) as con:
        [(filed_loaded_at,)] = con.execute(
            "select min(loaded_at) from main.fs_merchant__risk where merchant_id = ? "
            "and feature_ts = ?", [first["merchant"], first["horizon"] + 3 * MINUTE]).fetchall()
    assert filed_loaded_at == first["stamp"] + MINUTE
