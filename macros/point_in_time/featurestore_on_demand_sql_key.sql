{#- Which of the SQL spellings `featurestore generate` rendered for each on-demand
    expression (featurestore/generate_on_demand.py) this warehouse runs. -#}
{%- macro featurestore_on_demand_sql_key() -%}
    {{ return(adapter.dispatch('featurestore_on_demand_sql_key', 'featurestore')()) }}
{%- endmacro -%}

{%- macro default__featurestore_on_demand_sql_key() -%}
    {{ exceptions.raise_compiler_error(
        "as_of_join: on-demand features are rendered for DuckDB, Snowflake and Spark only; "
        ~ "this warehouse is `" ~ target.type ~ "`. Compute them with `featurestore training-set`.") }}
{%- endmacro -%}

{%- macro duckdb__featurestore_on_demand_sql_key() -%}
    {{ return('duckdb') }}
{%- endmacro -%}

{%- macro snowflake__featurestore_on_demand_sql_key() -%}
    {{ return('snowflake') }}
{%- endmacro -%}

{%- macro spark__featurestore_on_demand_sql_key() -%}
    {{ return('spark') }}
{%- endmacro -%}
