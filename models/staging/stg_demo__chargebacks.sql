with

source as (
    select * from {{ source('demo', 'chargebacks') }}
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
