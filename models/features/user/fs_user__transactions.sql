{#- Rolling card activity per user in event time: one row per user_id per change of any
    window (each transaction, and each moment a transaction leaves a window). Incremental:
    rolling_windows recomputes the users the newly landed transactions touch. -#}
with

transactions as (
    select * from {{ ref('stg_demo__transactions') }}
),

windows as (
    {{ rolling_windows(
        relation='transactions',
        partition_by=['user_id'],
        event_ts='transacted_at',
        loaded_at='loaded_at',
        aggregates=[
            {'name': 'txn_count_1h', 'agg': 'count', 'expr': 'transaction_id', 'window': '1h'},
            {'name': 'txn_count_7d', 'agg': 'count', 'expr': 'transaction_id', 'window': '7d'},
            {'name': 'txn_count_30d', 'agg': 'count', 'expr': 'transaction_id', 'window': '30d'},
            {'name': 'txn_amount_sum_1h', 'agg': 'sum', 'expr': 'amount', 'window': '1h'},
            {'name': 'txn_amount_sum_7d', 'agg': 'sum', 'expr': 'amount', 'window': '7d'},
            {'name': 'txn_amount_sum_30d', 'agg': 'sum', 'expr': 'amount', 'window': '30d'},
            {'name': 'txn_amount_avg_7d', 'agg': 'avg', 'expr': 'amount', 'window': '7d'},
            {'name': 'txn_amount_avg_30d', 'agg': 'avg', 'expr': 'amount', 'window': '30d'},
        ],
        last_values=[
            {'name': 'last_txn_amount', 'expr': 'amount', 'order_by': 'transaction_id'},
        ],
    ) }}
),

final as (
    select
        user_id,
        feature_ts,
        loaded_at,
        cast(txn_count_1h as bigint) as txn_count_1h,
        cast(txn_count_7d as bigint) as txn_count_7d,
        cast(txn_count_30d as bigint) as txn_count_30d,
        cast(txn_amount_sum_1h as double) as txn_amount_sum_1h,
        cast(txn_amount_sum_7d as double) as txn_amount_sum_7d,
        cast(txn_amount_sum_30d as double) as txn_amount_sum_30d,
        cast(txn_amount_avg_7d as double) as txn_amount_avg_7d,
        cast(txn_amount_avg_30d as double) as txn_amount_avg_30d,
        cast(last_txn_amount as double) as last_txn_amount
    from windows
)

select * from final
