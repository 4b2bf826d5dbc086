{#- Point-in-time-correct features for every labelled transaction: each view's value as
    it was at event_ts (within the view's TTL), else the contract's default. -#}
{{ as_of_join(ref('fraud_labels'), ['user_transactions', 'merchant_risk', 'user_profile', 'device_seen_before']) }}
