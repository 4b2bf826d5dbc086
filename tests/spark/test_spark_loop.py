"""One cycle of `featurestore run` on Spark: land, build, gate and publish.

The demo built on Spark (conftest `spark_demo`) gets one landed profile update. The
cycle loads it into Spark's raw table, `dbt build`s the models it reaches, gates
`user_profile` (its quality suite checks `signup_channel` against its allowed values:
literals the Spark way) and syncs it into DynamoDB Local, where the landed values are
read back. The cycle's row and the gate's verdicts are in Spark's store tables.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from featurestore.project import Project
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_one_loop_cycle_on_spark_lands_builds_gates_and_publishes(
        spark_demo, spark, dynamodb_local, dynamodb_table, monkeypatch):
    from featurestore.apps.loop import LoopOptions, run_cycle
    from featurestore.warehouse import Warehouse

    client, table = dynamodb_table
    for name, value in {**spark_demo, "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local,
                        "FEATURESTORE_ONLINE_TABLE": table}.items():
        monkeypatch.setenv(name, value)
    updated_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(
        tzinfo=None, microsecond=0)
    landing = spark_demo["FEATURESTORE_LANDING_DIR"]
    folder = REPO_ROOT.joinpath(landing, "profile_updates")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "update-1.csv").write_text(
        "user_id,updated_at,country,is_verified,kyc_level\n"
        f"1,{updated_at.isoformat(sep=' ')},NZ,true,2\n")

    lines: list[str] = []
    cycle = run_cycle(Project(REPO_ROOT), LoopOptions(threads=2), progress=lines.append)

    assert (cycle.files, cycle.events) == (1, 1), lines
    assert cycle.models_built >= 1, lines
    assert "user_profile" not in cycle.refused, cycle.refused
    item = client.get_item(TableName=table, Key={"pk": {"S": "user#1"},
                                                 "sk": {"S": "user_profile#v1"}})["Item"]
    assert (item["country"], item["kyc_level"], item["is_verified"]) == (
        {"S": "NZ"}, {"N": "2"}, {"BOOL": True})
    with Warehouse(Project(REPO_ROOT), read_only=True) as warehouse:
        verdicts = dict(warehouse.fetch_all(
            "select expectation, passed from featurestore.gate_results "
            "where view = 'user_profile'"))
        (recorded,) = warehouse.fetch_all(
            "select status, files, events, refused from featurestore.loop_cycles "
            "where cycle_id = ?", [cycle.cycle_id])
    assert verdicts["values(signup_channel)"] is True and verdicts["max(kyc_level)"] is True
    assert recorded[:3] == (cycle.status, 1, 1)
    assert "user_profile" not in json.loads(recorded[3])
