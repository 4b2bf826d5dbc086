{#- Rolling order activity per customer in event time: one row per customer_id per change
    of any window (each order, and each moment an order leaves a window). -#}
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

windows as (
    {{ featurestore.rolling_windows(
        relation='orders',
        partition_by=['customer_id'],
        event_ts='ordered_at',
        loaded_at='loaded_at',
        aggregates=[
            {'name': 'order_count_7d', 'agg': 'count', 'expr': 'order_id', 'window': '7d'},
            {'name': 'order_amount_sum_30d', 'agg': 'sum', 'expr': 'amount', 'window': '30d'},
            {'name': 'order_amount_max_30d', 'agg': 'max', 'expr': 'amount', 'window': '30d'},
        ],
        last_values=[
            {'name': 'last_order_amount', 'expr': 'amount', 'order_by': 'order_id'},
        ],
    ) }}
),

final as (
    select
        customer_id,
        feature_ts,
        loaded_at,
        cast(order_count_7d as bigint) as order_count_7d,
        cast(order_amount_sum_30d as double) as order_amount_sum_30d,
        cast(order_amount_max_30d as double) as order_amount_max_30d,
        cast(last_order_amount as double) as last_order_amount
    from windows
)

select * from final
