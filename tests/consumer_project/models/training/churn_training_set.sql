{#- The churn training set: each label row with the customer's order features as they
    were at event_ts (point in time; defaults past the 30-day TTL). -#}
{{ featurestore.as_of_join(
    ref('stg_shop__churn_labels'),
    ['customer_orders:order_count_7d', 'customer_orders:order_amount_sum_30d',
     'customer_orders:last_order_amount'],
) }}
