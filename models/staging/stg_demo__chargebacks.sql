with

-- a file may repeat a row (a retried upload): keep its first landing
source as (
    select * from {{ source('demo', 'chargebacks') }}
    qualify row_number() over (partition by transaction_id order by loaded_at, filed_at) = 1
),

final as (
    select
        cast(transaction_id as bigint) as transaction_id,
        cast(filed_at as timestamp) as filed_at,
        lower(reason) as reason,
        cast(loaded_at as timestamp) as loaded_at
    from source
)

select * from final
