{#- The last CTE and the select of both bodies: one row per change point with the
    output columns; in an incremental run the carried values join in and only the rows
    from each entity's start come out. `windowed` has keys, _rw_ts_us, _rw_loaded_at,
    each aggregate by name and each last value as _rw_last_<j>. -#}
{%- macro featurestore_rolling_output(spec, windowed) -%}
{%- set keys = spec['keys'] %}
select
    {{ featurestore.featurestore_key_list(keys, windowed) }},
    {{ featurestore.featurestore_from_epoch_us(windowed ~ '._rw_ts_us') }} as {{ spec['feature_ts'] }},
    {%- if spec['loaded_at'] %}
    {%- if spec['previous'] %}
    case
        when _rw_carry._rw_loaded_at is null then {{ windowed }}._rw_loaded_at
        when {{ windowed }}._rw_loaded_at is null then _rw_carry._rw_loaded_at
        when {{ windowed }}._rw_loaded_at > _rw_carry._rw_loaded_at then {{ windowed }}._rw_loaded_at
        else _rw_carry._rw_loaded_at
    end as loaded_at,
    {%- else %}
    {{ windowed }}._rw_loaded_at as loaded_at,
    {%- endif %}
    {%- endif %}
    {%- for aggregate in spec['aggregates'] %}
    {{ windowed }}.{{ aggregate['name'] }}{{ ',' if not loop.last or spec['last_values'] }}
    {%- endfor %}
    {%- for last in spec['last_values'] %}
    {%- if spec['previous'] %}
    coalesce({{ windowed }}._rw_last_{{ loop.index0 }}, _rw_carry._rw_lv_{{ loop.index0 }}) as {{ last['name'] }}{{ ',' if not loop.last }}
    {%- else %}
    {{ windowed }}._rw_last_{{ loop.index0 }} as {{ last['name'] }}{{ ',' if not loop.last }}
    {%- endif %}
    {%- endfor %}
from {{ windowed }}
{%- if spec['previous'] %}
inner join _rw_starts
    on {{ featurestore.featurestore_rw_keys_match(keys, windowed, '_rw_starts') }}
left join _rw_carry
    on {{ featurestore.featurestore_rw_keys_match(keys, windowed, '_rw_carry') }}
where {{ windowed }}._rw_ts_us >= _rw_starts._rw_start_us
{%- endif %}
{%- endmacro -%}
