with

-- a file may repeat a row (a retried upload): keep its first landing
source as (
    select * from {{ source('demo', 'transactions') }}
    qualify row_number() over (partition by transaction_id order by loaded_at, transacted_at) = 1
),

final as (
    select
        cast(transaction_id as bigint) as transaction_id,
        cast(user_id as bigint) as user_id,
        cast(merchant_id as bigint) as merchant_id,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(amount as double) as amount,
        upper(currency) as currency,
        cast(transacted_at as timestamp) as transacted_at,
        cast(loaded_at as timestamp) as loaded_at
    from source
)

select * from final
