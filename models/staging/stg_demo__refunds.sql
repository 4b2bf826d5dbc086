with

-- a file may repeat a row (a retried upload): keep its first landing
source as (
    select * from {{ source('demo', 'refunds') }}
    qualify row_number() over (partition by transaction_id order by loaded_at, refunded_at) = 1
),

final as (
    select
        cast(transaction_id as bigint) as transaction_id,
        cast(user_id as bigint) as user_id,
        cast(amount as double) as amount,
        cast(refunded_at as timestamp) as refunded_at,
        cast(loaded_at as timestamp) as loaded_at
    from source
)

select * from final
