{#- Step c of the running-sum body (featurestore_rolling_running_sql): the running sums,
    max and last values per entity over the change points (_rw_running), min and max as
    RANGE frames, and the aggregates from the window columns (_rw_windowed). -#}
{%- macro featurestore_rolling_running_ctes(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set columns = featurestore.featurestore_rolling_running_columns(spec) -%}
{%- set so_far = 'partition by ' ~ keys ~ ' order by _rw_ts_us rows between unbounded preceding and current row' %}

    -- c. Running sums per entity: at t, the events in (t - w, t] of each window w.
    _rw_running as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            max(_rw_loaded_at) over ({{ so_far }}) as _rw_loaded_at,
            {%- endif %}
            {%- for pair in columns['counts'] %}
            sum(_rw_c_{{ pair[0] }}_{{ pair[1] }}) over ({{ so_far }}) as _rw_c_{{ pair[0] }}_{{ pair[1] }},
            {%- endfor %}
            {%- for pair in columns['sums'] %}
            sum(_rw_s_{{ pair[0] }}_{{ pair[1] }}) over ({{ so_far }}) as _rw_s_{{ pair[0] }}_{{ pair[1] }},
            {%- endfor %}
            {%- for aggregate in spec['aggregates'] if aggregate['agg'] in ['min', 'max'] %}
            {{ aggregate['agg'] }}(_rw_{{ aggregate['agg'] }}_{{ aggregate['input'] }}) over (
                partition by {{ keys }} order by _rw_ts_us
                range between {{ aggregate['window_us'] - 1 }} preceding and current row
            ) as {{ aggregate['name'] }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            last(_rw_lv_{{ loop.index0 }}, true) over ({{ so_far }}) as _rw_last_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_changes
    ),

    -- The aggregates from the window columns (avg: the exact sum / the count).
    _rw_windowed as (
        select
            _rw_running.*
            {%- for aggregate in spec['aggregates'] if aggregate['agg'] not in ['min', 'max'] %},
            {%- set suffix = aggregate['input'] ~ '_' ~ aggregate['window'] %}
            {%- if aggregate['agg'] == 'count' %}
            cast(_rw_c_{{ suffix }} as bigint) as {{ aggregate['name'] }}
            {%- elif aggregate['agg'] == 'sum' %}
            cast(coalesce(_rw_s_{{ suffix }}, 0) as double) as {{ aggregate['name'] }}
            {%- else %}
            case when _rw_c_{{ suffix }} > 0 then cast(_rw_s_{{ suffix }} as double) / _rw_c_{{ suffix }} end as {{ aggregate['name'] }}
            {%- endif %}
            {%- endfor %}
        from _rw_running
    )
{%- endmacro -%}
