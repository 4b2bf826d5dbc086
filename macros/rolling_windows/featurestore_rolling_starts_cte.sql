{#- Incremental run, step 4 of featurestore_rolling_input_ctes: per entity the new
    events touch, where its rows start to change (_rw_starts). -#}
{%- macro featurestore_rolling_starts_cte(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) %}

    -- 4. Where each changed entity's rows start to change.
    _rw_starts as (
        select
            {{ keys }},
            min(_rw_start_us) as _rw_start_us
        from (
            select {{ keys }}, _rw_ts_us as _rw_start_us from _rw_new
            union all
            select
                {{ keys }},
                _rw_previous._rw_old_horizon_us + 1 as _rw_start_us
            from _rw_source
            cross join _rw_previous
            cross join _rw_horizon
            where
                {%- for us in spec['windows'] %}
                {{ 'or ' if not loop.first }}(
                    _rw_source._rw_ts_us + {{ us }} > _rw_previous._rw_old_horizon_us
                    and _rw_source._rw_ts_us + {{ us }} <= _rw_horizon._rw_horizon_us
                    and ({% for i in spec['window_inputs'][loop.index0] %}{{ ' or ' if not loop.first }}_rw_in_{{ i }} is not null{% endfor %})
                )
                {%- endfor %}
        ) as _rw_changes
        group by {{ keys }}
    ),
{%- endmacro -%}
