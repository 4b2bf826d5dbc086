{#- Incremental run, steps 5 and 6 of featurestore_rolling_input_ctes: the changed
    entities' events from start - the longest window on (_rw_events), and what their
    older events carry in (_rw_older, _rw_carry: the latest loaded_at, the last values). -#}
{%- macro featurestore_rolling_carry_ctes(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) %}

    -- 5. Their events from start - {{ spec['longest_us'] }} us (the longest window) on.
    _rw_events as (
        select _rw_source.*
        from _rw_source
        inner join _rw_starts
            on {{ featurestore.featurestore_rw_keys_match(spec['keys'], '_rw_source', '_rw_starts') }}
        where _rw_source._rw_ts_us >= _rw_starts._rw_start_us - {{ spec['longest_us'] }}
    ),

    -- 6. What their older events carry in: the latest loaded_at and the last values.
    _rw_older as (
        select
            _rw_source.*
            {%- for last in spec['last_values'] %},
            row_number() over (
                partition by {{ featurestore.featurestore_key_list(spec['keys'], '_rw_source') }}, _rw_source._rw_ts_us
                order by _rw_source._rw_lo_{{ loop.index0 }} desc nulls last
            ) as _rw_rank_{{ loop.index0 }}
            {%- endfor %}
        from _rw_source
        inner join _rw_starts
            on {{ featurestore.featurestore_rw_keys_match(spec['keys'], '_rw_source', '_rw_starts') }}
        where _rw_source._rw_ts_us < _rw_starts._rw_start_us - {{ spec['longest_us'] }}
    ),

    _rw_carry as (
        select
            {{ keys }},
            max(_rw_loaded_at) as _rw_loaded_at
            {%- for last in spec['last_values'] %},
            max(case when _rw_pick_{{ loop.index0 }} = 1 and _rw_rank_{{ loop.index0 }} = 1 then _rw_lv_{{ loop.index0 }} end) as _rw_lv_{{ loop.index0 }}
            {%- endfor %}
        from (
            select
                _rw_older.*
                {%- for last in spec['last_values'] %},
                row_number() over (
                    partition by {{ keys }}
                    order by case when _rw_rank_{{ loop.index0 }} = 1 and _rw_lv_{{ loop.index0 }} is not null then 0 else 1 end, _rw_ts_us desc
                ) as _rw_pick_{{ loop.index0 }}
                {%- endfor %}
            from _rw_older
        ) as _rw_picked
        group by {{ keys }}
    ),
{%- endmacro -%}
