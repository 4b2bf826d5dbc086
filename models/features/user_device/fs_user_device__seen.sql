{#- Whether and how often a user has used a device: one row per (user_id, device_id) per
    transaction time. A running count never decays, so no expiry rows are needed.
    Incremental: a transaction landed since the table's max(loaded_at) can change every
    row of its (user, device) pair (an earlier one moves first_seen_at), so those pairs
    are recomputed whole; a pair holds a handful of rows. -#}
with

transactions as (
    select * from {{ ref('stg_demo__transactions') }}
),

{% if is_incremental() -%}
-- 0. The pairs with transactions landed since the watermark (a null loaded_at counts).
touched_pairs as (
    select distinct
        transactions.user_id,
        transactions.device_id
    from transactions
    cross join (select max(loaded_at) as watermark from {{ this }}) as previous
    where transactions.device_id is not null
        and (
            previous.watermark is null
            or transactions.loaded_at is null
            or transactions.loaded_at > previous.watermark
        )
),

{% endif -%}
-- 1. Several transactions at one instant make one change.
per_instant as (
    select
        transactions.user_id,
        transactions.device_id,
        transactions.transacted_at,
        count(*) as n_transactions,
        max(transactions.loaded_at) as loaded_at
    from transactions
    {%- if is_incremental() %}
    inner join touched_pairs
        on transactions.user_id = touched_pairs.user_id
        and transactions.device_id = touched_pairs.device_id
    {%- endif %}
    where transactions.device_id is not null
    group by transactions.user_id, transactions.device_id, transactions.transacted_at
),

-- 2. Running totals per user and device, up to and including each instant.
final as (
    select
        user_id,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
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
