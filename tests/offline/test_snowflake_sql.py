"""The Snowflake bodies parse as Snowflake SQL (sqlglot, error level raise) and use the
Snowflake constructs we rely on: ASOF JOIN ... MATCH_CONDITION, DATEADD, QUALIFY.

Paired in the sqlglot style: one input spec, one expected fragment of the output."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from featurestore.sql_render import render_as_of_join, render_feature_timeline

ONE_KEY = {
    "name": "user_transactions", "version": 1, "source": "fs_user__transactions",
    "keys": ["user_id"], "timestamp": "feature_ts", "created_timestamp": "loaded_at",
    "ttl_seconds": 2592000, "relation": "ANALYTICS.FEATURESTORE.FS_USER__TRANSACTIONS",
    "features": [{"name": "txn_count_7d", "dtype": "int64", "default_sql": "0"},
                 {"name": "last_txn_amount", "dtype": "float64", "default_sql": "null"}],
}
TWO_KEYS = {
    "name": "device_seen_before", "version": 1, "source": "fs_user_device__seen",
    "keys": ["user_id", "device_id"], "timestamp": "feature_ts", "created_timestamp": None,
    "ttl_seconds": None, "relation": "ANALYTICS.FEATURESTORE.FS_USER_DEVICE__SEEN",
    "features": [{"name": "device_txn_count", "dtype": "int64", "default_sql": "0"}],
}


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="snowflake", error_level=ErrorLevel.RAISE)


# The as-of column: the time a row becomes the answer. That is feature_ts itself, except
# in known-at-event mode for a view with a created_timestamp (then the known time).
@pytest.mark.parametrize(("known_at_event", "one_key_asof"), [(False, "_fs_feature_ts"),
                                                              (True, "_fs_asof_ts")])
@pytest.mark.parametrize(("specs", "expected_joins"), [
    ([ONE_KEY], [("spine.user_id = user_transactions.user_id",
                  'spine."EVENT_TS" >= user_transactions.{asof}')]),
    ([ONE_KEY, TWO_KEYS], [
        ("spine.user_id = user_transactions.user_id",
         'spine."EVENT_TS" >= user_transactions.{asof}'),
        # column by column, never a concatenated id; no created_timestamp, no known time
        ("spine.user_id = device_seen_before.user_id AND "
         "spine.device_id = device_seen_before.device_id",
         'spine."EVENT_TS" >= device_seen_before._fs_feature_ts'),
    ]),
])
def test_as_of_join_snowflake_body_parses_with_one_asof_join_per_view(
        specs, expected_joins, known_at_event, one_key_asof):
    tree = parse(render_as_of_join("snowflake", "ANALYTICS.ML.SPINE", specs,
                                   known_at_event=known_at_event))
    joins = [j for j in tree.find_all(exp.Join) if j.args.get("method") == "ASOF"]
    got = []
    for join in joins:
        got.append((join.args["on"].sql("snowflake"),
                    join.args["match_condition"].sql("snowflake")))
    assert got == [(on, condition.format(asof=one_key_asof))
                   for on, condition in expected_joins]
    # No left join survives in the final CTE: ASOF JOIN itself null-pads the spine rows.
    assert not [j for j in tree.find_all(exp.Join) if j.args.get("side")]


def test_as_of_join_snowflake_ttl_and_defaults():
    sql = render_as_of_join("snowflake", "ANALYTICS.ML.SPINE", [ONE_KEY])
    tree = parse(sql)
    final = next(cte for cte in tree.find_all(exp.CTE) if cte.alias == "final").this
    columns = [e.alias_or_name for e in final.expressions]
    assert columns == ["*", "user_transactions__txn_count_7d",
                       "user_transactions__last_txn_amount", "user_transactions__feature_ts"]
    assert final.expressions[1].sql("snowflake") == (
        "CASE WHEN NOT user_transactions._fs_feature_ts IS NULL AND spine.\"EVENT_TS\" <= "
        "DATEADD(SECOND, 2592000, user_transactions._fs_feature_ts) "
        "THEN user_transactions.txn_count_7d ELSE 0 END AS user_transactions__txn_count_7d"
    )


def test_as_of_join_snowflake_known_at_event_uses_known_time():
    tree = parse(render_as_of_join("snowflake", "S", [ONE_KEY], known_at_event=True))
    known = next(cte for cte in tree.find_all(exp.CTE)
                 if cte.alias == "user_transactions__rows__known").this
    assert known.expressions[-1].sql("snowflake") == (
        "CASE WHEN loaded_at > feature_ts THEN loaded_at ELSE feature_ts END AS _fs_known_ts")


@pytest.mark.parametrize(("spec", "partition", "expires_at"), [
    (ONE_KEY, "user_id", "DATEADD(SECOND, 2592000, feature_ts) AS expires_at"),
    (TWO_KEYS, "user_id, device_id", "CAST(NULL AS TIMESTAMP) AS expires_at"),
])
def test_feature_timeline_snowflake_body_parses(spec, partition, expires_at):
    tree = parse(render_feature_timeline("snowflake", spec["relation"], spec))
    final = next(cte for cte in tree.find_all(exp.CTE) if cte.alias == "final").this
    [lead] = list(final.find_all(exp.Window))
    assert lead.sql("snowflake") == (
        f"LEAD(feature_ts) OVER (PARTITION BY {partition} ORDER BY feature_ts)")
    assert final.expressions[-1].sql("snowflake") == expires_at
    latest = next(cte for cte in tree.find_all(exp.CTE) if cte.alias == "latest_version").this
    assert (latest.args.get("qualify") is not None) == (spec["created_timestamp"] is not None)
