"""The soak's own SQL of the demo's feature views: what a full-refresh build over the raw
tables gives, written from the models' documented definitions (README "Point in time",
macros/rolling_windows.sql's header, the models' comments), not from their SQL.

Each query reads the warehouse attached as ``w`` and returns the view's columns in the
view's order. The rolling windows are computed the plain way: for every change point
(each event time, and each event time plus each window, never past the newest event), an
aggregate over the entity's events in ``(t - w, t]``. Sums are exact (DECIMAL(38, 12),
then DOUBLE), as the macro documents, so the comparison can be exact.
"""

from __future__ import annotations

# staging, as the demo's models document it: a repeated transaction keeps its first landing
TXNS = """
txns as (
    select transaction_id, user_id, merchant_id, device_id, amount,
           upper(currency) as currency, transacted_at, loaded_at
    from w.raw.transactions
    qualify row_number() over (partition by transaction_id
                               order by loaded_at, transacted_at) = 1
)"""


def _exact_sum(expr: str, since: str) -> str:
    return f"sum(cast({expr} as decimal(38, 12))) filter (where {since})"


def _window(ts: str, width: str) -> str:
    return f"e.{ts} > p.ts - interval {width}"


def user_transactions() -> str:
    aggregates = []
    for width, label in (("1 hour", "1h"), ("7 day", "7d"), ("30 day", "30d")):
        aggregates.append(f"count(e.transaction_id) filter (where {_window('ets', width)}) "
                          f"as txn_count_{label}")
    for width, label in (("1 hour", "1h"), ("7 day", "7d"), ("30 day", "30d")):
        aggregates.append(f"cast(coalesce({_exact_sum('e.amount', _window('ets', width))}, 0)"
                          f" as double) as txn_amount_sum_{label}")
    for width, label in (("7 day", "7d"), ("30 day", "30d")):
        within = _window("ets", width)
        aggregates.append(f"cast({_exact_sum('e.amount', within)} as double) / nullif(count("
                          f"e.amount) filter (where {within}), 0) as txn_amount_avg_{label}")
    columns = ",\n    ".join(aggregates)
    return f"""
with {TXNS},
events as (select user_id as k, transacted_at as ets, * exclude (user_id) from txns),
horizon as (select max(ets) as h from events),
points as (
    select distinct k, ts from (
        select k, ets as ts from events
        union all select k, ets + interval 1 hour from events
        union all select k, ets + interval 7 day from events
        union all select k, ets + interval 30 day from events
    ) where ts <= (select h from horizon)
)
select p.k as user_id, p.ts as feature_ts, max(e.loaded_at) as loaded_at,
    {columns},
    arg_max(e.amount, cast(epoch_us(e.ets) as hugeint) * 100000000000000
            + e.transaction_id) filter (where e.amount is not null) as last_txn_amount
from points as p join events as e on e.k = p.k and e.ets <= p.ts
group by p.k, p.ts
"""


def merchant_risk() -> str:
    return f"""
with {TXNS},
chargebacks as (
    select transaction_id, filed_at, loaded_at from w.raw.chargebacks
    qualify row_number() over (partition by transaction_id order by loaded_at, filed_at) = 1
),
events as (
    select merchant_id as k, transacted_at as ets, transaction_id as txn,
           cast(null as bigint) as cb, loaded_at
    from txns
    union all
    select t.merchant_id, c.filed_at, null, c.transaction_id, c.loaded_at
    from chargebacks as c join txns as t on t.transaction_id = c.transaction_id
),
horizon as (select max(ets) as h from events),
points as (
    select distinct k, ts from (
        select k, ets as ts from events
        union all select k, ets + interval 7 day from events where txn is not null
        union all select k, ets + interval 30 day from events
    ) where ts <= (select h from horizon)
),
counted as (
    select p.k, p.ts, max(e.loaded_at) as loaded_at,
        count(e.txn) filter (where {_window('ets', '7 day')}) as txn_7d,
        count(e.txn) filter (where {_window('ets', '30 day')}) as txn_30d,
        count(e.cb) filter (where {_window('ets', '30 day')}) as cb_30d
    from points as p join events as e on e.k = p.k and e.ets <= p.ts
    group by p.k, p.ts
)
select k as merchant_id, ts as feature_ts, loaded_at, txn_7d as txn_count_7d,
    cb_30d as chargeback_count_30d,
    case when txn_30d > 0 then cast(cb_30d as double) / txn_30d end as chargeback_rate_30d
from counted
"""


def device_seen_before() -> str:
    return f"""
with {TXNS},
per_instant as (
    select user_id, device_id, transacted_at, count(*) as n, max(loaded_at) as loaded_at
    from txns where device_id is not null
    group by user_id, device_id, transacted_at
)
select user_id, device_id, transacted_at as feature_ts,
    max(loaded_at) over pair_so_far as loaded_at,
    cast(sum(n) over pair_so_far as bigint) as device_txn_count,
    min(transacted_at) over (partition by user_id, device_id) as first_seen_at
from per_instant
window pair_so_far as (partition by user_id, device_id order by transacted_at
                       rows between unbounded preceding and current row)
"""


def user_profile(version: int) -> str:
    extra = (",\n    cast(u.kyc_level = 3 as boolean) as is_fully_verified"
             if version == 2 else "")
    return f"""
with first_landings as (
    select * from w.raw.profile_updates
    qualify row_number() over (partition by user_id, updated_at
                               order by loaded_at, kyc_level, country, is_verified) = 1
),
profile_updates as (
    select user_id, updated_at, upper(country) as country, is_verified,
           cast(kyc_level as bigint) as kyc_level, loaded_at
    from first_landings
),
users as (
    select user_id, signed_up_at, lower(signup_channel) as signup_channel,
           lower(email_domain) as email_domain
    from w.raw.users
)
select u.user_id, u.updated_at as feature_ts, u.loaded_at, u.country,
    users.signup_channel, u.is_verified, u.kyc_level, users.signed_up_at,
    users.email_domain{extra}
from profile_updates as u join users on users.user_id = u.user_id
"""


# view label -> (the relation dbt builds, the oracle's query, its key columns, features,
# the contract's freshness SLO in seconds or None)
VIEWS = {
    "user_transactions": ("fs_user__transactions", user_transactions(), ("user_id",), 3600),
    "merchant_risk": ("fs_merchant__risk", merchant_risk(), ("merchant_id",), 3600),
    "device_seen_before": ("fs_user_device__seen", device_seen_before(),
                           ("user_id", "device_id"), 86400),
    "user_profile": ("fs_user__profile", user_profile(1), ("user_id",), None),
    "user_profile@v2": ("fs_user__profile_v2", user_profile(2), ("user_id",), None),
}
ENTITY = {"user_transactions": "user", "merchant_risk": "merchant",
          "device_seen_before": "user_device", "user_profile": "user",
          "user_profile@v2": "user"}
