{#- _rw_horizon, the data horizon that every bucket's body reads: the newest event time of
    the whole input (`relation`: the input itself, or its staged copy when the buckets
    are statements, featurestore_rolling_statements). A bucket's own newest would cut
    its entities' rows short. -#}
{%- macro featurestore_rolling_horizon_cte(spec, relation) -%}
    -- The data horizon: the newest event time of the whole input.
    _rw_horizon as (
        select max({{ featurestore.featurestore_epoch_us(spec['event_ts']) }}) as _rw_horizon_us
        from {{ relation }}
        where {{ spec['event_ts'] }} is not null
    )
{%- endmacro -%}
