"""Publishing is a property of a view's built state: a state a gate (or a dbt test)
refused is never synced by any path until a later state passes, or someone forces it and
says why. The feature tables are built in SQL (no dbt); the store is DynamoDB Local.

The oracles read DynamoDB with boto3 and the verdicts with their own SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore.dialects import for_target

PROFILE_SK = "user_profile#v1"


def _items_of(client, table: str, sk: str) -> int:
    return client.scan(TableName=table, Select="COUNT", FilterExpression="sk = :sk",
                       ExpressionAttributeValues={":sk": {"S": sk}})["Count"]


@pytest.fixture
def refusing(gate_project, dynamodb_table, dynamodb_local, monkeypatch):
    """Fresh feature tables, a quarter of user_profile's countries null (its contract:
    max_null_rate 0), the store pointed at a fresh DynamoDB Local table."""
    from bench.feature_tables import create_feature_tables

    client, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    monkeypatch.setenv("FEATURESTORE_USER", "tester")
    with gate_project.warehouse() as warehouse:
        create_feature_tables(warehouse.connection, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    gate_project.sql("update fs_user__profile set country = null where user_id % 4 = 0")
    return gate_project, client, table


def _sync(gate_project, *args: str):
    from click.testing import CliRunner

    from featurestore.apps.cli import cli

    return CliRunner().invoke(cli, ["--project-dir", str(gate_project.root), "sync", "--view",
                                    "user_profile", *args], obj={}, catch_exceptions=False)


def _verdicts(gate_project) -> list[tuple]:
    with duckdb.connect(str(gate_project.root / "warehouse" / "featurestore.duckdb"),
                        read_only=True) as con:
        return con.execute("select judge, passed, reasons, judged_by, state, state_rows from "
                           "featurestore.featurestore.publish_verdicts order by judged_at"
                           ).fetchall()


NULL_COUNTRY = ("quality/user_profile: null_rate(country) observed 0.25, threshold <= 0 "
                "(max_null_rate)")


@pytest.mark.slow
def test_no_gate_still_refuses_a_refused_state_until_forced_with_a_reason(refusing):
    gate_project, client, table = refusing
    refused = _sync(gate_project)
    assert refused.exit_code == 2
    assert NULL_COUNTRY in refused.output
    # --no-gate skips the gates, not their verdict: the state stays refused
    again = _sync(gate_project, "--no-gate")
    assert again.exit_code == 2, again.output
    assert "refused, not publishing user_profile (held back since " in again.output
    assert f"  {NULL_COUNTRY}\n" in again.output
    assert ("1 view(s) not published because a gate or a dbt test refused their built state:"
            " user_profile (DynamoDB untouched for them)") in again.output
    assert _items_of(client, table, PROFILE_SK) == 0
    # forcing needs a reason, which is recorded with who gave it
    empty = _sync(gate_project, "--no-gate", "--publish-refused", "  ")
    assert empty.exit_code == 1
    assert "say why the refused state is published anyway" in empty.output
    forced = _sync(gate_project, "--no-gate", "--publish-refused",
                   "guest accounts have no country (INC-7)")
    assert forced.exit_code == 0, forced.output
    assert ("WARNING: --publish-refused: publishing user_profile although its built state "
            f"was refused ({NULL_COUNTRY})") in forced.output
    (rows,) = gate_project.sql("select count(distinct user_id) from fs_user__profile")[0]
    assert _items_of(client, table, PROFILE_SK) == rows == 200
    judged = _verdicts(gate_project)
    assert [(judge, passed, json.loads(reasons), by) for judge, passed, reasons, by, *_ in
            judged] == [
        ("gates", False, [NULL_COUNTRY], "tester"),
        ("forced", True, ["forced by tester: guest accounts have no country (INC-7)",
                          NULL_COUNTRY], "tester")]
    assert len({state for *_, state, _ in judged}) == 1  # one state, judged twice
    assert judged[0][5] == 600  # its rows
    # the override stays with the state: later syncs publish it without forcing
    assert _sync(gate_project, "--no-gate").exit_code == 0


@pytest.mark.slow
def test_the_verdict_belongs_to_the_state_not_to_the_run(refusing):
    gate_project, client, table = refusing
    assert _sync(gate_project).exit_code == 2
    # a state built outside featurestore (here: fixed by hand) is new: judged, published
    gate_project.sql("update fs_user__profile set country = 'FR' where country is null")
    fixed = _sync(gate_project)
    assert fixed.exit_code == 0, fixed.output
    assert _items_of(client, table, PROFILE_SK) == 200
    # the refused content again: the same state, refused without asking the gates again
    gate_project.sql("update fs_user__profile set country = null where user_id % 4 = 0")
    back = _sync(gate_project, "--no-gate")
    assert back.exit_code == 2, back.output
    assert f"  {NULL_COUNTRY}\n" in back.output
    judged = _verdicts(gate_project)
    assert [(judge, passed) for judge, passed, *_ in judged] == [("gates", False),
                                                                ("gates", True)]
    assert judged[0][4] != judged[1][4]


@pytest.mark.slow
def test_a_changed_contract_judges_the_state_again(refusing):
    gate_project, client, table = refusing
    assert _sync(gate_project).exit_code == 2
    contract = gate_project.root / "feature_defs" / "user_profile.yml"
    contract.write_text(contract.read_text().replace("max_null_rate: 0.0", "max_null_rate: 0.3"))
    judged_again = _sync(gate_project)
    assert judged_again.exit_code == 0, judged_again.output
    assert _items_of(client, table, PROFILE_SK) == 200
    assert [(judge, passed) for judge, passed, *_ in _verdicts(gate_project)] == [
        ("gates", False), ("gates", True)]


@pytest.mark.slow
def test_a_state_published_without_gates_is_recorded_once_then_judged(refusing):
    gate_project, client, table = refusing
    gate_project.sql("update fs_user__profile set country = 'FR' where country is null")
    for _ in range(2):
        unjudged = _sync(gate_project, "--no-gate")
        assert unjudged.exit_code == 0, unjudged.output
    assert [(judge, passed, json.loads(reasons)) for judge, passed, reasons, *_ in
            _verdicts(gate_project)] == [
        ("no-gate", True, ["published with --no-gate, never judged by the gates"])]
    assert _sync(gate_project).exit_code == 0  # the gates judge it when asked
    assert [judge for judge, *_ in _verdicts(gate_project)] == ["no-gate", "gates"]


# -- the fingerprint of a built state ---------------------------------------------------------
ROWS = st.lists(st.tuples(st.integers(-5, 5), st.one_of(st.none(), st.floats(-1e3, 1e3)),
                          st.one_of(st.none(), st.text(max_size=4))), min_size=1, max_size=30)


def _fingerprint(con, rows: list[tuple]) -> tuple:
    con.execute("create or replace table t (k bigint, x double, s varchar)")
    if rows:
        con.executemany("insert into t values (?, ?, ?)", rows)
    sql = for_target("duckdb").fingerprint_sql("t", ['"k"', '"x"', '"s"'])
    return con.execute(sql).fetchall()[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, seed=st.integers(0, 1000), data=st.data())
def test_the_duckdb_fingerprint_ignores_order_and_sees_every_change(rows, seed, data):
    con = duckdb.connect()
    first = _fingerprint(con, rows)
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    assert _fingerprint(con, shuffled) == first
    assert first[0] == len(rows)
    assert _fingerprint(con, [*rows, rows[0]]) != first  # a repeated row counts
    row = data.draw(st.integers(0, len(rows) - 1))
    k, x, s = rows[row]
    changed = list(rows)
    changed[row] = (k, x, None if s is not None else "n")  # one cell, a null included
    assert _fingerprint(con, changed) != first


def test_the_warehouses_spell_their_fingerprints_in_their_own_sql():
    columns = ['"user_id"', '"country"']
    snowflake = for_target("snowflake").fingerprint_sql('"DB"."FS"."FS_USER__PROFILE"', columns)
    tree = sqlglot.parse_one(snowflake, read="snowflake")
    assert tree.sql(dialect="snowflake") == (
        'SELECT COUNT(*), TO_CHAR(COALESCE(HASH_AGG("user_id", "country"), 0)) '
        'FROM "DB"."FS"."FS_USER__PROFILE"')
    spark = for_target("spark").fingerprint_sql("main.fs_user__profile",
                                                ["`user_id`", "`country`"])
    tree = sqlglot.parse_one(spark, read="spark")
    assert "XXHASH64(`user_id`, `country`, CONCAT(IF(`user_id` IS NULL, '1', '0'), " \
        "IF(`country` IS NULL, '1', '0')))" in tree.sql(dialect="spark")
    assert "DECIMAL(38, 0)" in tree.sql(dialect="spark")
