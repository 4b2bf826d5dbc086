with

source as (
    select * from {{ source('demo', 'merchants') }}
),

final as (
    select
        cast(merchant_id as bigint) as merchant_id,
        lower(category) as category,
        upper(country) as country
    from source
)

select * from final
