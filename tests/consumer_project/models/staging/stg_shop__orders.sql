with

source as (
    select * from {{ ref('raw_orders') }}
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        amount,
        loaded_at
    from source
    where customer_id is not null
)

select * from final
