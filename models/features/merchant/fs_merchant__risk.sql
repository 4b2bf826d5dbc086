{#- Merchant volume and chargeback experience in event time: one row per merchant_id per
    change. Chargebacks count from their filing time, when they became known. Incremental:
    rolling_windows recomputes the merchants the newly landed events touch (a filing that
    landed before its transaction joins in with it: the transaction touches the merchant
    from its own, earlier, time). -#}
with

transactions as (
    select * from {{ ref('stg_demo__transactions') }}
),

chargebacks as (
    select * from {{ ref('stg_demo__chargebacks') }}
),

-- 1. Transactions and chargeback filings as one stream of merchant events; the marker
--    columns say which window each event feeds.
merchant_events as (
    select
        merchant_id,
        transacted_at as event_at,
        transaction_id as txn_marker,
        cast(null as bigint) as chargeback_marker,
        loaded_at
    from transactions

    union all

    select
        transactions.merchant_id,
        chargebacks.filed_at as event_at,
        cast(null as bigint) as txn_marker,
        chargebacks.transaction_id as chargeback_marker,
        chargebacks.loaded_at
    from chargebacks
    inner join transactions
        on chargebacks.transaction_id = transactions.transaction_id
),

-- 2. The windows, over (t - w, t].
windows as (
    {{ rolling_windows(
        relation='merchant_events',
        partition_by=['merchant_id'],
        event_ts='event_at',
        loaded_at='loaded_at',
        aggregates=[
            {'name': 'txn_count_7d', 'agg': 'count', 'expr': 'txn_marker', 'window': '7d'},
            {'name': 'txn_count_30d', 'agg': 'count', 'expr': 'txn_marker', 'window': '30d'},
            {'name': 'chargeback_count_30d', 'agg': 'count', 'expr': 'chargeback_marker',
             'window': '30d'},
        ],
    ) }}
),

-- 3. The rate is null, not 0 or infinite, when there were no transactions.
final as (
    select
        merchant_id,
        feature_ts,
        loaded_at,
        cast(txn_count_7d as bigint) as txn_count_7d,
        cast(chargeback_count_30d as bigint) as chargeback_count_30d,
        cast(
            case
                when txn_count_30d > 0
                    then cast(chargeback_count_30d as double) / txn_count_30d
            end
        as double) as chargeback_rate_30d
    from windows
)

select * from final
