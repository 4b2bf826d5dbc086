{#- Slowly changing account attributes: one row per user_id per profile update; a value
    holds until the next update. Signup attributes come from the account itself.
    Incremental: the updates the table does not hold yet, new ones and ones whose
    account landed after them; a held row never changes (accounts are fixed at signup,
    and an update is its own row). -#}
with

profile_updates as (
    select * from {{ ref('stg_demo__profile_updates') }}
),

users as (
    select * from {{ ref('stg_demo__users') }}
),

final as (
    select
        profile_updates.user_id,
        profile_updates.updated_at as feature_ts,
        profile_updates.loaded_at,
        cast(profile_updates.country as {{ dbt.type_string() }}) as country,
        cast(users.signup_channel as {{ dbt.type_string() }}) as signup_channel,
        cast(profile_updates.is_verified as boolean) as is_verified,
        cast(profile_updates.kyc_level as bigint) as kyc_level,
        cast(users.signed_up_at as timestamp) as signed_up_at,
        cast(users.email_domain as {{ dbt.type_string() }}) as email_domain
    from profile_updates
    inner join users
        on profile_updates.user_id = users.user_id
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as held
        where held.user_id = profile_updates.user_id
            and held.feature_ts = profile_updates.updated_at
    )
    {%- endif %}
)

select * from final
