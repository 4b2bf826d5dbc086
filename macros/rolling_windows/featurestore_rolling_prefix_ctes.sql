{#- Steps b and c of the DuckDB body: the entities numbered in key order, and the
    prefixes over all instants (`instants`: _rw_instants or _rw_compact) in (keys, time)
    order. -#}
{%- macro featurestore_rolling_prefix_ctes(spec, instants) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set entity_high = 'cast(_rw_entity as hugeint) << 64' %}

    -- b. The entities, numbered in key order.
    _rw_entities as (
        select
            {{ keys }},
            row_number() over (order by {{ keys }}) as _rw_entity
        from (select distinct {{ keys }} from {{ instants }}) as _rw_keys
    ),

    -- c. Prefixes over all instants in (keys, time) order.
    _rw_prefix as (
        select
            row_number() over _rw_so_far as _rw_idx,
            {%- if spec['loaded_at'] %}
            arg_max_null({{ instants }}._rw_loaded_at, {{ entity_high }}
                | coalesce(cast({{ featurestore.featurestore_epoch_us(instants ~ '._rw_loaded_at') }} as hugeint) + 9223372036854775808, 0)
            ) over _rw_so_far as _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            sum(_rw_n_{{ loop.index0 }}) over _rw_so_far as _rw_n_{{ loop.index0 }},
            {%- endfor %}
            {%- for i in spec['sum_inputs'] %}
            sum(_rw_s_{{ i }}) over _rw_so_far as _rw_s_{{ i }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            arg_max_null(_rw_lv_{{ loop.index0 }}, {{ entity_high }}
                | case when _rw_lv_{{ loop.index0 }} is not null then cast(_rw_ts_us as hugeint) + 9223372036854775808 else 0 end
            ) over _rw_so_far as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from {{ instants }}
        inner join _rw_entities
            on {{ featurestore.featurestore_rw_keys_match(spec['keys'], instants, '_rw_entities') }}
        window _rw_so_far as (order by {{ featurestore.featurestore_key_list(spec['keys'], instants) }}, {{ instants }}._rw_ts_us rows between unbounded preceding and current row)
    ),
{%- endmacro -%}
