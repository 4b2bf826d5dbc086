{#- One view's as-of join in featurestore_asof_body: the view's candidate rows
    (`<view>__rows`, as `<view>`), the last one at or before `event`, key by key, or
    nulls. -#}
{%- macro featurestore_asof_join(spec, event, known_at_event) -%}
    {{ return(adapter.dispatch('featurestore_asof_join', 'featurestore')(spec, event, known_at_event)) }}
{%- endmacro -%}

{#- ASOF LEFT JOIN ... ON keys AND inequality (DuckDB; ClickHouse spells it alike).
    https://duckdb.org/docs/stable/sql/query_syntax/from#as-of-joins -#}
{%- macro default__featurestore_asof_join(spec, event, known_at_event) -%}
asof left join {{ spec['name'] }}__rows as {{ spec['name'] }}
            on {{ featurestore.featurestore_keys_equal(spec['keys'], 'spine', spec['name']) }}
            and {{ event }} >= {{ spec['name'] }}.{{ featurestore.featurestore_asof_column(spec, known_at_event) }}
{%- endmacro -%}

{#- ASOF JOIN ... MATCH_CONDITION ... ON keys (null-pads unmatched left rows).
    https://docs.snowflake.com/en/sql-reference/constructs/asof-join -#}
{%- macro snowflake__featurestore_asof_join(spec, event, known_at_event) -%}
asof join {{ spec['name'] }}__rows as {{ spec['name'] }}
            match_condition ({{ event }} >= {{ spec['name'] }}.{{ featurestore.featurestore_asof_column(spec, known_at_event) }})
            on {{ featurestore.featurestore_keys_equal(spec['keys'], 'spine', spec['name']) }}
{%- endmacro -%}
