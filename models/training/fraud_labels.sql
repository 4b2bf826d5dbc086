{#- The fraud spine: one row per transaction, labelled with whether it was charged back.
    event_ts is the moment the model would score the transaction; txn_ts, amount and
    merchant_country are what the scoring request carries (txn_context's request
    fields, feature_defs/txn_context.yml). -#}
with

transactions as (
    select * from {{ ref('stg_demo__transactions') }}
),

chargebacks as (
    select * from {{ ref('stg_demo__chargebacks') }}
),

merchants as (
    select * from {{ ref('stg_demo__merchants') }}
),

final as (
    select
        transactions.transaction_id,
        transactions.user_id,
        transactions.merchant_id,
        transactions.device_id,
        transactions.amount,
        transactions.transacted_at as event_ts,
        chargebacks.transaction_id is not null as is_fraud,
        transactions.transacted_at as txn_ts,
        merchants.country as merchant_country
    from transactions
    left join chargebacks
        on transactions.transaction_id = chargebacks.transaction_id
    left join merchants
        on transactions.merchant_id = merchants.merchant_id
)

select * from final
