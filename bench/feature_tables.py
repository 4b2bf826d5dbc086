"""Feature-model tables shaped like the demo's, generated directly in DuckDB SQL.

The gate tests and ``bench/gates.py`` need feature rows that honour the contracts in
``feature_defs/`` (keys, timestamps, ranges, allowed values, null rates) at any size,
in seconds and without a dbt build: five million rows take a few seconds this way.
Rows per entity are hourly, the newest ``newest_lag_minutes`` before ``end``.
"""

from __future__ import annotations

import datetime as dt

MODELS = ("fs_user__transactions", "fs_merchant__risk", "fs_user__profile",
          "fs_user_device__seen")


def _ts(end: dt.datetime) -> str:
    return f"cast('{end.isoformat(sep=' ')}' as timestamp)"


def create_feature_tables(connection, end: dt.datetime, users: int = 200, merchants: int = 50,
                          hours: int = 24, newest_lag_minutes: int = 10,
                          profile_rows: int = 3, devices_per_user: int = 2) -> dict[str, int]:
    """(Re)create the four feature models in ``connection``'s ``main`` schema; row counts."""
    newest = f"({_ts(end)} - interval '{newest_lag_minutes} minutes')"
    sql = {
        "fs_user__transactions": f"""
            select u.i as user_id,
                   {newest} - h.j * interval '1 hour' as feature_ts,
                   {newest} - h.j * interval '1 hour' + interval '5 minutes' as loaded_at,
                   cast((u.i + h.j) % 3 as bigint) as txn_count_1h,
                   cast((u.i + h.j) % 20 as bigint) as txn_count_7d,
                   cast((u.i + h.j) % 60 as bigint) as txn_count_30d,
                   ((u.i * 7 + h.j) % 50) * 1.25e0 as txn_amount_sum_1h,
                   ((u.i * 7 + h.j) % 500) * 2.5e0 as txn_amount_sum_7d,
                   ((u.i * 7 + h.j) % 900) * 3.75e0 as txn_amount_sum_30d,
                   case when (u.i + h.j) % 10 = 0 then null
                        else ((u.i * 3 + h.j) % 90) + 10.5e0 end as txn_amount_avg_7d,
                   case when (u.i + h.j) % 10 = 0 then null
                        else ((u.i * 5 + h.j) % 95) + 12.25e0 end as txn_amount_avg_30d,
                   ((u.i * 11 + h.j) % 300) + 0.99e0 as last_txn_amount
            from range(1, {users} + 1) as u(i) cross join range(0, {hours}) as h(j)""",
        "fs_merchant__risk": f"""
            select m.i as merchant_id,
                   {newest} - h.j * interval '1 hour' as feature_ts,
                   {newest} - h.j * interval '1 hour' + interval '5 minutes' as loaded_at,
                   cast((m.i * 13 + h.j) % 400 as bigint) as txn_count_7d,
                   cast((m.i + h.j) % 4 as bigint) as chargeback_count_30d,
                   case when (m.i + h.j) % 8 = 0 then null
                        else ((m.i + h.j) % 4) / 100.0e0 end as chargeback_rate_30d
            from range(1, {merchants} + 1) as m(i) cross join range(0, {hours}) as h(j)""",
        "fs_user__profile": f"""
            select u.i as user_id,
                   {newest} - p.j * interval '1 day' as feature_ts,
                   {newest} - p.j * interval '1 day' + interval '5 minutes' as loaded_at,
                   (['US', 'GB', 'DE', 'FR', 'BR'])[1 + (u.i % 5)] as country,
                   (['web', 'ios', 'android', 'partner'])[1 + ((u.i + p.j) % 4)]
                       as signup_channel,
                   (u.i + p.j) % 3 <> 0 as is_verified,
                   cast((u.i + p.j) % 4 as bigint) as kyc_level,
                   {_ts(end)} - interval '400 days' + u.i * interval '1 minute'
                       as signed_up_at,
                   (['gmail.com', 'outlook.com', 'proton.me'])[1 + (u.i % 3)] as email_domain
            from range(1, {users} + 1) as u(i) cross join range(0, {profile_rows}) as p(j)""",
        "fs_user_device__seen": f"""
            select u.i as user_id,
                   'd-' || lpad(cast(u.i * 10 + d.k as varchar), 7, '0') as device_id,
                   {newest} - h.j * interval '1 hour' as feature_ts,
                   {newest} - h.j * interval '1 hour' + interval '5 minutes' as loaded_at,
                   cast({hours} - h.j + d.k as bigint) as device_txn_count,
                   {_ts(end)} - interval '90 days' + d.k * interval '1 hour'
                       as first_seen_at
            from range(1, {users} + 1) as u(i) cross join range(0, {devices_per_user}) as d(k)
                 cross join range(0, {max(1, hours // 4)}) as h(j)""",
    }
    counts = {}
    for model, select in sql.items():
        connection.execute(f'create or replace table main."{model}" as {select}').fetchall()
        counts[model] = connection.execute(f'select count(*) from main."{model}"').fetchall()[0][0]
    return counts
