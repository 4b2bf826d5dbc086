{#- The aggregates of the DuckDB body: the prefix at t minus the prefix at t - w, looked
    up by instant number (_rw_windowed). -#}
{%- macro featurestore_rolling_lookup_cte(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) %}

    -- The aggregates: prefix at t minus prefix at t - w.
    _rw_windowed as (
        select
            {{ featurestore.featurestore_key_list(spec['keys'], '_rw_positions') }},
            _rw_positions._rw_ts_us,
            {%- if spec['loaded_at'] %}
            _rw_now._rw_loaded_at,
            {%- endif %}
            {%- for aggregate in spec['aggregates'] %}
            {%- set i = aggregate['input'] %}
            {%- set then = '_rw_before_' ~ aggregate['window'] %}
            {%- set n = '(_rw_now._rw_n_' ~ i ~ ' - coalesce(' ~ then ~ '._rw_n_' ~ i ~ ', 0))' %}
            {%- set s = '(_rw_now._rw_s_' ~ i ~ ' - coalesce(' ~ then ~ '._rw_s_' ~ i ~ ', 0))' %}
            {%- if aggregate['agg'] == 'count' %}
            cast({{ n }} as bigint) as {{ aggregate['name'] }},
            {%- elif aggregate['agg'] == 'sum' %}
            cast({{ s }} as double) as {{ aggregate['name'] }},
            {%- elif aggregate['agg'] == 'avg' %}
            case when {{ n }} > 0 then cast({{ s }} as double) / {{ n }} end as {{ aggregate['name'] }},
            {%- else %}
            _rw_positions.{{ aggregate['name'] }},
            {%- endif %}
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            _rw_now._rw_lv_{{ loop.index0 }} as _rw_last_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_positions
        -- the change points only: the join drops the rest (a WHERE would make DuckDB
        -- guess the change points fewer than the prefixes, and hash them instead)
        inner join _rw_prefix as _rw_now
            on _rw_now._rw_idx = case when _rw_positions._rw_is_point then _rw_positions._rw_at_0 end
        {%- for us in spec['windows'] %}
        left join _rw_prefix as _rw_before_{{ loop.index0 }}
            on _rw_before_{{ loop.index0 }}._rw_idx = _rw_positions._rw_at_{{ loop.index }}
        {%- endfor %}
    )
{%- endmacro -%}
