{#- Steps a to c of the RANGE body (featurestore_rolling_range_sql): the events, each
    last value's candidate per instant (_rw_ranked), the change points (_rw_points), and
    both in one stream (_rw_stacked). -#}
{%- macro featurestore_rolling_stream_ctes(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) %}

    -- a. The events; a last value's candidate is the input of the instant's greatest order.
    _rw_ranked as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            _rw_in_{{ loop.index0 }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            case
                when row_number() over (
                    partition by {{ keys }}, _rw_ts_us
                    order by _rw_lo_{{ loop.index0 }} desc nulls last
                ) = 1 then _rw_lv_{{ loop.index0 }}
            end as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_is_point
        from _rw_events
    ),

    -- b. Change points: each event time, and each event time + window for the events
    --    that feed an aggregate over that window; never past the horizon.
    _rw_points as (
        select distinct
            {{ keys }},
            _rw_ts_us
        from (
            select {{ keys }}, _rw_ts_us from _rw_ranked
            {%- for us in spec['windows'] %}
            union all
            select {{ keys }}, _rw_ts_us + {{ us }} as _rw_ts_us
            from _rw_ranked
            where
                {%- for i in spec['window_inputs'][loop.index0] %}
                {{ 'or ' if not loop.first }}_rw_in_{{ i }} is not null
                {%- endfor %}
            {%- endfor %}
        ) as _rw_candidates
        where _rw_ts_us <= (select _rw_horizon_us from _rw_horizon)
    ),

    -- c. Events and change points in one stream; the points carry no inputs.
    _rw_stacked as (
        select * from _rw_ranked
        union all
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            null,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            null,
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            null,
            {%- endfor %}
            1
        from _rw_points
    ),
{%- endmacro -%}
