{#- The running counters of the DuckDB body over the change points, with step e (the
    min/max RANGE frames), and the counters unpacked into instant numbers. -#}
{%- macro featurestore_rolling_counter_ctes(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set order = 'order by ' ~ keys ~ ', _rw_ts_us' -%}
{%- set n_counters = spec['windows'] | length + 1 -%}
{%- set n_packs = (n_counters + 3) // 4 %}

    -- The running counters (and e. the min/max frames) over the change points.
    _rw_counted as (
        select
            {{ keys }},
            _rw_ts_us,
            _rw_is_point
            {%- for p in range(n_packs) %},
            sum(_rw_pack_{{ p }}) over ({{ order }} rows between unbounded preceding and current row) as _rw_pack_{{ p }}
            {%- endfor %}
            {%- for aggregate in spec['aggregates'] if aggregate['agg'] in ['min', 'max'] %},
            {{ aggregate['agg'] }}(_rw_{{ aggregate['agg'] }}_{{ aggregate['input'] }}) over (
                partition by {{ keys }} order by _rw_ts_us
                range between {{ aggregate['window_us'] - 1 }} preceding and current row
            ) as {{ aggregate['name'] }}
            {%- endfor %}
        from _rw_changes
    ),

    _rw_positions as (
        select
            _rw_counted.*
            {%- for c in range(n_counters) %},
            cast((_rw_pack_{{ c // 4 }} >> {{ 31 * (c % 4) }}) & 2147483647 as bigint) as _rw_at_{{ c }}
            {%- endfor %}
        from _rw_counted
    ),
{%- endmacro -%}
