{#- Steps a and b of the running-sum body (featurestore_rolling_running_sql): entries and
    exits as signed columns (_rw_marks), summed per change point (_rw_changes). A last
    value's candidate at an instant is the input of its greatest order (max_by over
    the events; an exit row's null order is skipped). -#}
{%- macro featurestore_rolling_exit_ctes(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set columns = featurestore.featurestore_rolling_running_columns(spec) -%}
{%- set decimal = 'decimal(38, ' ~ spec['sum_scale'] ~ ')' %}

    -- a. Entries at each event, exits at each event + window (up to the horizon).
    --    (distributed by the keys: the group by and the running sums reuse it)
    _rw_marks as (
        select /*+ REPARTITION({{ keys }}) */ * from (
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            _rw_loaded_at,
            {%- endif %}
            {%- for pair in columns['counts'] %}
            case when _rw_in_{{ pair[0] }} is not null then 1 else 0 end as _rw_c_{{ pair[0] }}_{{ pair[1] }},
            {%- endfor %}
            {%- for pair in columns['sums'] %}
            cast(_rw_in_{{ pair[0] }} as {{ decimal }}) as _rw_s_{{ pair[0] }}_{{ pair[1] }},
            {%- endfor %}
            {%- for pair in spec['minmax'] %}
            _rw_in_{{ pair[0] }} as _rw_{{ pair[1] }}_{{ pair[0] }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            _rw_lv_{{ loop.index0 }},
            named_struct('o', _rw_lo_{{ loop.index0 }}) as _rw_lo_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_events
        {%- for us in spec['windows'] %}
        {%- set k = loop.index0 %}

        union all

        select
            {{ keys }},
            _rw_ts_us + {{ us }},
            {%- if spec['loaded_at'] %}
            null,
            {%- endif %}
            {%- for pair in columns['counts'] %}
            {{ '-(case when _rw_in_' ~ pair[0] ~ ' is not null then 1 else 0 end)' if pair[1] == k else '0' }},
            {%- endfor %}
            {%- for pair in columns['sums'] %}
            {{ '-cast(_rw_in_' ~ pair[0] ~ ' as ' ~ decimal ~ ')' if pair[1] == k else 'null' }},
            {%- endfor %}
            {%- for pair in spec['minmax'] %}
            null,
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            null,
            null,
            {%- endfor %}
            0
        from _rw_events
        where _rw_ts_us + {{ us }} <= (select _rw_horizon_us from _rw_horizon)
            and ({% for i in spec['window_inputs'][k] %}{{ ' or ' if not loop.first }}_rw_in_{{ i }} is not null{% endfor %})
        {%- endfor %}
        ) as _rw_entries_exits
    ),

    -- b. One row per change point: its entries and exits summed.
    _rw_changes as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            max(_rw_loaded_at) as _rw_loaded_at,
            {%- endif %}
            {%- for pair in columns['counts'] %}
            sum(_rw_c_{{ pair[0] }}_{{ pair[1] }}) as _rw_c_{{ pair[0] }}_{{ pair[1] }},
            {%- endfor %}
            {%- for pair in columns['sums'] %}
            sum(_rw_s_{{ pair[0] }}_{{ pair[1] }}) as _rw_s_{{ pair[0] }}_{{ pair[1] }},
            {%- endfor %}
            {%- for pair in spec['minmax'] %}
            {{ pair[1] }}(_rw_{{ pair[1] }}_{{ pair[0] }}) as _rw_{{ pair[1] }}_{{ pair[0] }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            max_by(_rw_lv_{{ loop.index0 }}, _rw_lo_{{ loop.index0 }}) as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_marks
        group by {{ keys }}, _rw_ts_us
    ),
{%- endmacro -%}
