with

source as (
    select * from {{ source('demo', 'profile_updates') }}
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
