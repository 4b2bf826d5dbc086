with

-- a file may repeat an update (a retried upload): keep its first landing (within one
-- load, the values decide, so that every build keeps the same row)
source as (
    select * from {{ source('demo', 'profile_updates') }}
    qualify row_number() over (
        partition by user_id, updated_at
        order by loaded_at, kyc_level, country, is_verified
    ) = 1
),

final as (
    select
        cast(user_id as bigint) as user_id,
        cast(updated_at as timestamp) as updated_at,
        upper(country) as country,
        cast(is_verified as boolean) as is_verified,
        cast(kyc_level as bigint) as kyc_level,
        cast(loaded_at as timestamp) as loaded_at
    from source
)

select * from final
