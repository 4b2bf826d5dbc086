{#- `ts` plus `seconds` seconds, for TTL bounds (inclusive). -#}
{%- macro featurestore_add_seconds(ts, seconds) -%}
    {{ return(adapter.dispatch('featurestore_add_seconds', 'featurestore')(ts, seconds)) }}
{%- endmacro -%}

{#- An interval literal (DuckDB, Spark, the SQL standard).
    https://duckdb.org/docs/stable/sql/data_types/interval -#}
{%- macro default__featurestore_add_seconds(ts, seconds) -%}
({{ ts }} + interval '{{ seconds }} seconds')
{%- endmacro -%}

{#- https://docs.snowflake.com/en/sql-reference/functions/dateadd -#}
{%- macro snowflake__featurestore_add_seconds(ts, seconds) -%}
dateadd('second', {{ seconds }}, {{ ts }})
{%- endmacro -%}
