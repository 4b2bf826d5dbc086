"""Ingest into a copy of the built demo, then dbt.

Producer clocks off by +2 hours, +73 years (a year typed 2099), -2 hours and -30 years,
landed through `featurestore ingest` into a copy of the built demo, each followed by an
ordinary file: every incremental `dbt run` of fs_user__transactions and
fs_merchant__risk gets the later file's events (a watermark a producer set would have
frozen them, or hidden the file beneath it), and the tables equal a --full-refresh
over the same raw rows.

A poison row (an empty user_id, an infinite amount) refuses its file, so the staging
tests keep passing and the good files after it load on."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.dbt_runner import run_dbt
from featurestore.dtypes import utc_naive
from featurestore.ingest import ingest
from featurestore.project import Project
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

MODELS = ("fs_user__transactions", "fs_merchant__risk")
MINUTE = dt.timedelta(minutes=1)
SKEWS = {"+2h": dt.timedelta(hours=2), "+73y": dt.timedelta(days=73 * 365),
         "-2h": -dt.timedelta(hours=2), "-30y": -dt.timedelta(days=30 * 365)}


def _file(path, first_id: int, user: int, merchant: int, device: str,
          times: list[dt.datetime], loaded_at: dt.datetime | None) -> None:
    columns = {
        "transaction_id": pa.array(range(first_id, first_id + len(times)), pa.int64()),
        "user_id": pa.array([user] * len(times), pa.int64()),
        "merchant_id": pa.array([merchant] * len(times), pa.int64()),
        "device_id": pa.array([device] * len(times)),
        "amount": pa.array([10.0 + i for i in range(len(times))]),
        "currency": pa.array(["USD"] * len(times)),
        "transacted_at": pa.array(times, pa.timestamp("us")),
    }
    if loaded_at is not None:  # the producer's clock
        columns["loaded_at"] = pa.array([loaded_at] * len(times), pa.timestamp("us"))
    pq.write_table(pa.table(columns), path)


def _tables(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {model: con.execute(f"select * from main.{model} order by all").fetchall()
                for model in MODELS}


@pytest.fixture
def demo_copy(demo_project, tmp_path, monkeypatch):
    """A copy of the built demo's warehouse and an empty landing folder (transactions/):
    (project, database, landing)."""
    database = tmp_path / "demo.duckdb"  # the name is the catalog the views refer to
    shutil.copy(demo_project.duckdb_path, database)
    landing = tmp_path / "landing"
    (landing / "transactions").mkdir(parents=True)
    for name, value in {**demo_project.env, "FEATURESTORE_DUCKDB_PATH": str(database),
                        "FEATURESTORE_LANDING_DIR": str(landing),
                        "DBT_TARGET_PATH": str(tmp_path / "target")}.items():
        monkeypatch.setenv(name, value)
    return Project(REPO_ROOT), database, landing


def test_skewed_producer_clocks_never_freeze_the_incremental_models(demo_copy, tmp_path):
    project, database, landing = demo_copy
    logs = ["--log-path", str(tmp_path / "logs")]
    with duckdb.connect(str(database), read_only=True) as con:
        top, horizon = con.execute("select max(transaction_id), max(transacted_at) "
                                   "from raw.transactions").fetchall()[0]
        pairs = con.execute("select distinct user_id, merchant_id, device_id from "
                            "raw.transactions order by all limit 4").fetchall()
    next_id = top + 1
    for number, ((label, skew), (user, merchant, device)) in enumerate(
            zip(SKEWS.items(), pairs, strict=True)):
        start = horizon + (10 * number + 1) * MINUTE
        for kind, times, loaded_at in (
                ("skewed", [start, start + MINUTE], utc_naive() + skew),
                ("plain", [start + 5 * MINUTE, start + 6 * MINUTE], None)):
            _file(landing / "transactions" / f"{number}-{kind}.parquet", next_id, user,
                  merchant, device, times, loaded_at)
            next_id += len(times)
            report = ingest(project, tables=["demo.transactions"])
            assert report.count("loaded") == 1, (label, kind, report.files)
            run_dbt(project, ["run", "--select", *MODELS, *logs])
            with duckdb.connect(str(database), read_only=True) as con:
                users = con.execute(
                    "select feature_ts from main.fs_user__transactions where user_id = ? "
                    "and feature_ts in (?, ?) order by 1", [user, *times]).fetchall()
                merchants = con.execute(
                    "select feature_ts from main.fs_merchant__risk where merchant_id = ? "
                    "and feature_ts in (?, ?) order by 1", [merchant, *times]).fetchall()
            assert users == merchants == [(times[0],), (times[1],)], (label, kind)
    incremental = _tables(database)
    run_dbt(project, ["run", "--full-refresh", "--select", *MODELS, *logs])
    assert incremental == _tables(database)


def test_poison_rows_are_refused_and_the_staging_tests_keep_passing(demo_copy, tmp_path):
    project, database, landing = demo_copy
    folder = landing / "transactions"
    header = "transaction_id,user_id,merchant_id,device_id,amount,currency,transacted_at\n"
    (folder / "a-poison.csv").write_text(
        header + "900000001,1,1,d-0000001,12.5,USD,2026-04-30 10:00:00\n"
        "900000002,,1,d-0000001,13.5,USD,2026-04-30 10:01:00\n")
    (folder / "b-infinite.csv").write_text(
        header + "900000003,1,1,d-0000001,inf,USD,2026-04-30 10:02:00\n")
    (folder / "c-good.csv").write_text(
        header + "900000004,1,1,d-0000001,14.5,USD,2026-04-30 10:03:00\n")
    report = ingest(project, tables=["transactions"], settle=0)
    assert [(f.path.rsplit("/", 1)[-1], f.status, f.message.split("; moved")[0])
            for f in report.files] == [
        ("a-poison.csv", "quarantined", "row 2, column `user_id`: is empty, and its source "
         "declares it `not_null`: every row must give it a value"),
        ("b-infinite.csv", "quarantined", "row 1, column `amount`: 'inf' is not a finite "
         "double"),
        ("c-good.csv", "loaded", "")]
    run_dbt(project, ["build", "--select", "source:demo.transactions",
                      "stg_demo__transactions", "--log-path", str(tmp_path / "logs")])
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from raw.transactions "
                           "where transaction_id > 900000000").fetchall() == [(1,)]
    # and out again: the models built from it are named, with the command to rebuild them
    done = CliRunner().invoke(cli, ["--project-dir", str(REPO_ROOT), "ingest", "--unload",
                                    "c-good.csv"])
    assert done.exit_code == 0, done.output
    assert done.stdout == (
        "unloaded c-good.csv from demo.transactions: 1 row removed\n"
        "The incremental models built from demo.transactions still hold what these rows "
        "made (fs_merchant__risk, fs_user__transactions, fs_user_device__seen); rebuild "
        "them:\n  featurestore build --full-refresh --select source:demo.transactions+\n"
        "then repair the online store: featurestore sync --full-refresh\n")
