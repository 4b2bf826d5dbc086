with

source as (
    select * from {{ source('demo', 'users') }}
),

final as (
    select
        cast(user_id as bigint) as user_id,
        cast(signed_up_at as timestamp) as signed_up_at,
        upper(country) as country,
        lower(signup_channel) as signup_channel,
        lower(email_domain) as email_domain
    from source
)

select * from final
