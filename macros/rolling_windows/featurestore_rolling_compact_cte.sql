{#- Step a' of the DuckDB body, in an incremental run without min or max: the instants
    no lookup can land on, summed up. -#}
{%- macro featurestore_rolling_compact_cte(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set counters = [0] + spec['windows'] %}

    -- a'. Only some instants can be looked up: a change point t from the entity's start
    --     r to the horizon H reads the prefixes at t and at t - w, i.e. instants in
    --     [r - w, H - w] for w = 0 and each window ("slices"). The instants between
    --     slices are summed into one row each (at the latest of their times), so the
    --     work follows the span that changes, not the longest window. Their exits all
    --     fall before r or after H, on the same side per row: no change point moves.
    _rw_compact as (
        select
            {{ keys }},
            max(_rw_ts_us) as _rw_ts_us,
            {%- if spec['loaded_at'] %}
            max(_rw_loaded_at) as _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            sum(_rw_n_{{ loop.index0 }}) as _rw_n_{{ loop.index0 }},
            {%- endfor %}
            {%- for i in spec['sum_inputs'] %}
            sum(_rw_s_{{ i }}) as _rw_s_{{ i }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            arg_max(_rw_lv_{{ loop.index0 }}, _rw_ts_us) as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from (
            select
                _rw_instants.*,
                case
                    when {% for w in counters %}{{ ' or ' if not loop.first }}_rw_instants._rw_ts_us between _rw_starts._rw_start_us - {{ w }} and _rw_horizon._rw_horizon_us - {{ w }}{% endfor %}
                        then _rw_instants._rw_ts_us
                end as _rw_slice_ts,
                {% for w in counters %}{{ ' + ' if not loop.first }}case when _rw_instants._rw_ts_us > _rw_horizon._rw_horizon_us - {{ w }} then 1 else 0 end + case when _rw_instants._rw_ts_us >= _rw_starts._rw_start_us - {{ w }} then 1 else 0 end{% endfor %} as _rw_region
            from _rw_instants
            inner join _rw_starts
                on {{ featurestore.featurestore_rw_keys_match(spec['keys'], '_rw_instants', '_rw_starts') }}
            cross join _rw_horizon
        ) as _rw_labelled
        group by {{ keys }}, _rw_slice_ts, _rw_region
    ),
{%- endmacro -%}
