"""The sync's inclusive and exclusive bounds, to the microsecond.

* a row is visible when ``feature_ts <= as_of`` (the read plan and the next watermark);
* an incremental run re-reads an entity with a row landed strictly after
  ``watermark - lookback``, or whose ``feature_ts`` is strictly after
  ``previous_as_of - lookback`` (it came due since the last run);
* a conditional write lands when no item is stored or the stored ``feature_ts <= :ts``.

Each bound is tested one microsecond either side, so turning a ``<=`` into ``<`` (or a
``>`` into ``>=``) fails a test. The read plan is checked against a plain-Python reference
on generated rows; the write condition against DynamoDB Local.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore.online.items import encode_item, view_sk
from featurestore.project import Project
from featurestore.sync import state as sync_state
from featurestore.sync.reader import ReadPlan, high_water_sql, read_latest
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
from tests.conftest import write_dbt_project
from tests.online.conftest import (
    AS_OF,
    T0,
    TXN_DDL,
    TXNS,
    dynamodb_items,
    insert_txns,
    txn_row,
)
from tests.online_stores import store_for

US = dt.timedelta(microseconds=1)
HOUR = dt.timedelta(hours=1)


def test_a_row_at_exactly_as_of_is_published_and_one_microsecond_later_is_not(
        online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [
            txn_row(1, T0, T0),
            txn_row(1, AS_OF, AS_OF - HOUR, scale=2),  # at as_of: visible, landed last
            txn_row(2, T0, T0),
            txn_row(2, AS_OF + US, AS_OF, scale=3),  # one microsecond late: not yet
            txn_row(3, AS_OF + US, T0, scale=4),  # its only row, not yet
        ])
        result = sync_view(warehouse, store_for(client, table), TXNS,
                           SyncOptions(as_of=AS_OF, lookback=dt.timedelta(0)))
        state = sync_state.load(warehouse, TXNS.name, TXNS.version)
    online = dynamodb_items(client, table, TXNS)
    assert {pk: ts for pk, (ts, _, _) in online.items()} == {"user#1": AS_OF, "user#2": T0}
    assert online["user#1"][1]["last_txn_amount"] == 7.75 * 2
    assert result.rows_read == 2
    # the next watermark is the latest landing among visible rows: the row at as_of's
    assert state.watermark == AS_OF - HOUR


# -- the read plan against a reference, on generated rows --------------------------------
BASE = dt.datetime(2026, 3, 1)
PLAN_AS_OF = BASE + 10 * HOUR
PREVIOUS_AS_OF = BASE + 5 * HOUR
WATERMARK = BASE + 6 * HOUR
LOOKBACKS = (dt.timedelta(0), US, HOUR)


@st.composite
def plans_and_rows(draw):
    """A read plan and rows whose times sit at, or a microsecond or two off, its bounds."""
    lookback = draw(st.sampled_from(LOOKBACKS))
    kind = draw(st.sampled_from(("full", "incremental", "first incremental")))
    plan = ReadPlan(
        as_of=PLAN_AS_OF,
        watermark=None if kind == "full" else WATERMARK,
        previous_as_of=PREVIOUS_AS_OF if kind == "incremental" else None,
        lookback=lookback,
    )
    near = st.integers(-2, 2).map(lambda n: n * US)
    feature_ts = st.tuples(st.sampled_from((PLAN_AS_OF, PREVIOUS_AS_OF - lookback, BASE)),
                           near).map(lambda pair: pair[0] + pair[1])
    loaded_at = st.tuples(st.sampled_from((WATERMARK - lookback, BASE + HOUR)),
                          near).map(lambda pair: pair[0] + pair[1])
    rows = draw(st.lists(st.tuples(st.integers(1, 4), feature_ts, loaded_at),
                         min_size=1, max_size=12, unique=True))
    return plan, rows


def reference(plan: ReadPlan, rows) -> dict:
    """user -> (feature_ts, loaded_at) of the row the plan must publish, in plain Python."""
    visible = [r for r in rows if r[1] <= plan.as_of]
    if plan.full:
        changed = {r[0] for r in visible}
    else:
        changed = {user for user, ts, loaded in visible
                   if loaded > plan.watermark - plan.lookback
                   or (plan.previous_as_of is not None
                       and ts > plan.previous_as_of - plan.lookback)}
    latest = {}
    for user, ts, loaded in visible:
        if user in changed and (user not in latest or (ts, loaded) > latest[user]):
            latest[user] = (ts, loaded)
    return latest


@pytest.fixture(scope="module")
def plan_warehouse(tmp_path_factory):
    """One open warehouse with an empty fs_user__transactions, for every example."""
    root = tmp_path_factory.mktemp("plans")
    write_dbt_project(root, "plans")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("FEATURESTORE_DUCKDB_PATH", "FEATURESTORE_TARGET", "DBT_PROFILES_DIR"):
            patch.delenv(name, raising=False)
        with Warehouse(Project(root)) as warehouse:
            warehouse.execute(TXN_DDL)
            yield warehouse


@settings(max_examples=300, deadline=None)
@given(case=plans_and_rows())
def test_read_plan_bounds_match_the_reference(plan_warehouse, case):
    plan, rows = case
    warehouse = plan_warehouse
    warehouse.execute("delete from fs_user__transactions")
    insert_txns(warehouse, [txn_row(user, ts, loaded) for user, ts, loaded in rows])
    got = {row["user_id"]: (row["feature_ts"], row["loaded_at"])
           for batch in read_latest(warehouse, TXNS, "fs_user__transactions", plan)
           for row in batch}
    (high_water,), = warehouse.fetch_all(
        high_water_sql(TXNS, "fs_user__transactions", plan.as_of, warehouse.dialect))
    assert got == reference(plan, rows)
    visible = [loaded for _, ts, loaded in rows if ts <= plan.as_of]
    assert high_water == (max(visible) if visible else None)


def test_a_row_landed_exactly_at_the_watermark_minus_lookback_is_not_reread(
        online_project, dynamodb_table):
    """End to end. The lookback window is open at its start: a late row whose landing
    time is exactly ``watermark - lookback`` (a loader clock a whole lookback behind) is
    outside it, one a microsecond later is inside."""
    client, table = dynamodb_table
    lookback = dt.timedelta(minutes=10)
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(u, T0, T0 + HOUR) for u in (1, 2, 3)])
        sync_view(warehouse, store_for(client, table), TXNS,
                  SyncOptions(as_of=AS_OF, lookback=lookback))
        watermark = sync_state.load(warehouse, TXNS.name, TXNS.version).watermark
        assert watermark == T0 + HOUR
        # at the data horizon (T0), not past it: only their landing can bring them
        insert_txns(warehouse, [txn_row(4, T0, watermark - lookback),
                                txn_row(5, T0, watermark - lookback + US)])
        result = sync_view(warehouse, store_for(client, table), TXNS,
                           SyncOptions(as_of=AS_OF, lookback=lookback))
    # users 1-3 landed at the watermark itself (within the lookback), 5 just inside it
    assert (result.full, result.rows_read) == (False, 4)
    assert "user#4" not in dynamodb_items(client, table, TXNS)


# -- the write condition, against DynamoDB Local -----------------------------------------
_users = itertools.count(1_000)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.none() | st.integers(-2, 2), incoming=st.integers(-2, 2))
def test_a_conditional_write_lands_unless_the_stored_value_is_newer(dynamodb_table, stored,
                                                                    incoming):
    """``attribute_not_exists(pk) OR feature_ts <= :ts``, a microsecond either side."""
    client, table = dynamodb_table
    user = next(_users)

    def item(offset: int, amount: float) -> dict:
        return encode_item(TXNS, {"user_id": user, "feature_ts": T0 + offset * US,
                                  "last_txn_amount": amount}, 1)

    if stored is not None:
        client.put_item(TableName=table, Item=item(stored, 1.0))
    writer = store_for(client, table).writer(threads=1)
    writer.write_conditional([item(incoming, 2.0)])
    writer.close()
    lands = stored is None or stored <= incoming
    assert (writer.counters.written, writer.counters.skipped) == (
        (1, 0) if lands else (0, 1))
    kept = client.get_item(TableName=table, ConsistentRead=True, Key={
        "pk": {"S": f"user#{user}"}, "sk": {"S": view_sk(TXNS)}})["Item"]
    assert kept["last_txn_amount"] == {"N": "2" if lands else "1"}
    assert kept["feature_ts"] == item(incoming if lands else stored, 0.0)["feature_ts"]
