{#- `name` as a quoted identifier of the warehouse, so that any column name (a spine's
    event time may be `event-ts`) reaches SQL as that name. -#}
{%- macro featurestore_ident(name) -%}
    {{ return(adapter.dispatch('featurestore_ident', 'featurestore')(name)) }}
{%- endmacro -%}

{#- Double quotes, a quote in the name doubled (DuckDB and the SQL standard).
    https://duckdb.org/docs/stable/sql/dialect/keywords_and_identifiers -#}
{%- macro default__featurestore_ident(name) -%}
"{{ name | string | replace('"', '""') }}"
{%- endmacro -%}

{#- In upper case, as Snowflake stores an unquoted name (dbt-snowflake's models, the
    connector's uploads). https://docs.snowflake.com/en/sql-reference/identifiers-syntax -#}
{%- macro snowflake__featurestore_ident(name) -%}
"{{ name | string | upper | replace('"', '""') }}"
{%- endmacro -%}

{#- Backticks, a backtick in the name doubled.
    https://spark.apache.org/docs/latest/sql-ref-identifier.html -#}
{%- macro spark__featurestore_ident(name) -%}
`{{ name | string | replace('`', '``') }}`
{%- endmacro -%}
