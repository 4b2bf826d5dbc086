{#- Whether and how often a user has used a device: one row per (user_id, device_id) per
    transaction time. A running count never decays, so no expiry rows are needed. -#}
with

transactions as (
    select * from {{ ref('stg_demo__transactions') }}
),

-- 1. Several transactions at one instant make one change.
per_instant as (
    select
        user_id,
        device_id,
        transacted_at,
        count(*) as n_transactions,
        max(loaded_at) as loaded_at
    from transactions
    where device_id is not null
    group by user_id, device_id, transacted_at
),

-- 2. Running totals per user and device, up to and including each instant.
final as (
    select
        user_id,
        cast(device_id as varchar) as device_id,
        transacted_at as feature_ts,
        max(loaded_at) over (
            partition by user_id, device_id order by transacted_at
            rows between unbounded preceding and current row
        ) as loaded_at,
        cast(sum(n_transactions) over (
            partition by user_id, device_id order by transacted_at
            rows between unbounded preceding and current row
        ) as bigint) as device_txn_count,
        cast(min(transacted_at) over (
            partition by user_id, device_id
        ) as timestamp) as first_seen_at
    from per_instant
)

select * from final
