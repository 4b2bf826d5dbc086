{#- Step d of the RANGE body: every window over (t - w, t] as a RANGE frame of
    w_us - 1 microseconds back (_rw_framed), the last values filled forward
    (_rw_windowed), and the change points alone (_rw_at_points). -#}
{%- macro featurestore_rolling_frame_ctes(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set frame = 'partition by ' ~ keys ~ ' order by _rw_ts_us' -%}
{%- set decimal = 'decimal(38, ' ~ spec['sum_scale'] ~ ')' %}

    -- d. Every window over (t - w, t]: a RANGE frame of w_us - 1 microseconds back.
    _rw_framed as (
        select
            {{ keys }},
            _rw_ts_us,
            _rw_is_point,
            {%- if spec['loaded_at'] %}
            max(_rw_loaded_at) over (
                {{ frame }} range between unbounded preceding and current row
            ) as _rw_loaded_at,
            {%- endif %}
            {%- for aggregate in spec['aggregates'] %}
            {%- set input = '_rw_in_' ~ aggregate['input'] %}
            {%- set within = frame ~ ' range between ' ~ (aggregate['window_us'] - 1) ~ ' preceding and current row' %}
            {%- if aggregate['agg'] == 'count' %}
            count({{ input }}) over ({{ within }}) as {{ aggregate['name'] }},
            {%- elif aggregate['agg'] == 'sum' %}
            cast(coalesce(sum(cast({{ input }} as {{ decimal }})) over ({{ within }}), 0) as double) as {{ aggregate['name'] }},
            {%- elif aggregate['agg'] == 'avg' %}
            cast(sum(cast({{ input }} as {{ decimal }})) over ({{ within }}) as double)
                / nullif(count({{ input }}) over ({{ within }}), 0) as {{ aggregate['name'] }},
            {%- else %}
            {{ aggregate['agg'] }}({{ input }}) over ({{ within }}) as {{ aggregate['name'] }},
            {%- endif %}
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            _rw_lv_{{ loop.index0 }},
            count(_rw_lv_{{ loop.index0 }}) over (
                {{ frame }} range between unbounded preceding and current row
            ) as _rw_stretch_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_stacked
    ),

    _rw_windowed as (
        select
            _rw_framed.*
            {%- for last in spec['last_values'] %},
            max(_rw_lv_{{ loop.index0 }}) over (
                partition by {{ keys }}, _rw_stretch_{{ loop.index0 }}
            ) as _rw_last_{{ loop.index0 }}
            {%- endfor %}
        from _rw_framed
    ),

    _rw_at_points as (
        select * from _rw_windowed where _rw_is_point = 1
    )
{%- endmacro -%}
