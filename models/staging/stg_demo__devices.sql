with

source as (
    select * from {{ source('demo', 'devices') }}
),

final as (
    select
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(user_id as bigint) as user_id,
        cast(first_seen_at as timestamp) as first_seen_at
    from source
)

select * from final
