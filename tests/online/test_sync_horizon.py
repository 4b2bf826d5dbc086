"""Window exits that the advancing data horizon reveals reach DynamoDB in an incremental
sync, though none of their inputs landed since the watermark.

The demo through the CLI: a history that ends three hours ago is ingested, built and
synced; then events of *other* users only, later than one user's exit time, land. The
incremental build adds that user's exit row (its hourly count falls to 0) with the old
events' ``loaded_at``; the incremental sync must publish it all the same.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from featurestore.demo_data import generate
from featurestore.online.client import ensure_table
from featurestore.online.config import OnlineConfig
from featurestore.online.items import decode_item, view_sk
from tests.online.conftest import TXNS
from tests.online.test_loop import _environment, featurestore

pytestmark = pytest.mark.slow
HOUR = dt.timedelta(hours=1)


def _later_events_of_other_users(landing, user: int, at: dt.datetime) -> None:
    """One file of three transactions, at ``at``, by users other than ``user``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    devices = pq.read_table(landing / "devices" / "history.parquet").to_pylist()
    merchant = pq.read_table(landing / "merchants" / "history.parquet").to_pylist()[0]
    others = [d for d in devices if d["user_id"] != user][:3]
    history = pq.read_table(landing / "transactions" / "history.parquet",
                            columns=["transaction_id"])
    first = max(history.column(0).to_pylist()) + 1
    table = pa.table({
        "transaction_id": pa.array(range(first, first + 3), pa.int64()),
        "user_id": pa.array([d["user_id"] for d in others], pa.int64()),
        "merchant_id": pa.array([merchant["merchant_id"]] * 3, pa.int64()),
        "device_id": pa.array([str(d["device_id"]) for d in others]),
        "amount": pa.array([12.5, 20.0, 31.25]),
        "currency": pa.array(["USD"] * 3),
        "transacted_at": pa.array([at] * 3, pa.timestamp("us")),
    })
    pq.write_table(table, landing / "transactions" / "stream-later.parquet")


def _latest_row(base, user: int, as_of: dt.datetime) -> tuple:
    with duckdb.connect(str(base / "warehouse" / "demo.duckdb"), read_only=True) as con:
        names = ", ".join(TXNS.feature_names)
        return con.execute(
            f"select feature_ts, {names} from main.fs_user__transactions where user_id = ? "
            "and feature_ts <= ? order by feature_ts desc, loaded_at desc limit 1",
            [user, as_of]).fetchone()


def _online(endpoint: str, table: str, user: int) -> tuple:
    item = OnlineConfig(endpoint=endpoint).client().get_item(
        TableName=table, Key={"pk": {"S": f"user#{user}"}, "sk": {"S": view_sk(TXNS)}},
        ConsistentRead=True)["Item"]
    feature_ts, values = decode_item(TXNS, item)
    return (feature_ts, *values.values())


def test_window_exits_revealed_by_the_horizon_reach_dynamodb(tmp_path, dynamodb_local):
    base = tmp_path / "world"
    table = f"fs_horizon_{tmp_path.name[-20:]}".replace("-", "_")
    env = _environment(base, dynamodb_local, table)
    end = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) - 3 * HOUR
    generate(base / "landing", users=60, days=3, seed=3, end=end)
    ensure_table(OnlineConfig(endpoint=dynamodb_local).client(), table, ttl=False)
    # --lookback 0: the user's rows landed at the watermark, which a lookback would re-read
    sync = ["sync", "--no-gate", "--lookback", "0"]
    for step in (["ingest"], ["build", "--quiet"], sync):
        done = featurestore(env, *step)
        assert done.returncode == 0, done.stderr[-3000:]
    with duckdb.connect(str(base / "warehouse" / "demo.duckdb"), read_only=True) as con:
        user, last_event = con.execute(
            "select user_id, feature_ts from main.fs_user__transactions "
            "order by feature_ts desc limit 1").fetchone()
    before = _online(dynamodb_local, table, user)
    assert before[0] == last_event and before[1] >= 1  # txn_count_1h: its last event

    _later_events_of_other_users(base / "landing", user, last_event + 2 * HOUR)
    for step in (["ingest"], ["build", "--quiet"], sync):
        done = featurestore(env, *step)
        assert done.returncode == 0, done.stderr[-3000:]
    assert "incremental" in done.stdout, done.stdout
    online = _online(dynamodb_local, table, user)

    done = featurestore(env, "build", "--quiet", "--full-refresh")
    assert done.returncode == 0, done.stderr[-3000:]
    reference = _latest_row(base, user, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    assert reference[0] == last_event + HOUR  # the exit of its last event from 1h
    assert reference[1] == 0
    assert online[:2] == reference[:2]
    assert online[1:] == pytest.approx(reference[1:])
