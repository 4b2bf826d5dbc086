{#- Step a of the DuckDB body (featurestore_rolling_prefix_sql): one row per instant
    (entity, event time) with its inputs' counts, exact sums, min/max, latest loaded_at
    and the last values' candidates. -#}
{%- macro featurestore_rolling_instants_cte(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set decimal = 'decimal(38, ' ~ spec['sum_scale'] ~ ')' %}

    -- a. One row per instant.
    _rw_instants as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            max(_rw_loaded_at) as _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            count(_rw_in_{{ loop.index0 }}) as _rw_n_{{ loop.index0 }},
            {%- endfor %}
            {%- for i in spec['sum_inputs'] %}
            coalesce(sum(cast(_rw_in_{{ i }} as {{ decimal }})), 0) as _rw_s_{{ i }},
            {%- endfor %}
            {%- for pair in spec['minmax'] %}
            {{ pair[1] }}(_rw_in_{{ pair[0] }}) as _rw_{{ pair[1] }}_{{ pair[0] }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            arg_max_null(_rw_lv_{{ loop.index0 }}, _rw_lo_{{ loop.index0 }}) as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_events
        group by {{ keys }}, _rw_ts_us
    ),
{%- endmacro -%}
