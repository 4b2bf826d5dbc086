{#- The fraud spine: one row per transaction, labelled with whether it was charged back.
    event_ts is the moment the model would score the transaction. -#}
with

transactions as (
    select * from {{ ref('stg_demo__transactions') }}
),

chargebacks as (
    select * from {{ ref('stg_demo__chargebacks') }}
),

final as (
    select
        transactions.transaction_id,
        transactions.user_id,
        transactions.merchant_id,
        transactions.device_id,
        transactions.amount,
        transactions.transacted_at as event_ts,
        chargebacks.transaction_id is not null as is_fraud
    from transactions
    left join chargebacks
        on transactions.transaction_id = chargebacks.transaction_id
)

select * from final
