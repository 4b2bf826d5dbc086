with

source as (
    select * from {{ ref('raw_churn_labels') }}
),

final as (
    select
        customer_id,
        event_ts,
        churned as is_churned
    from source
)

select * from final
