{#- The type name of a naive timestamp (for a typed null). -#}
{%- macro featurestore_naive_timestamp_type() -%}
    {{ return(adapter.dispatch('featurestore_naive_timestamp_type', 'featurestore')()) }}
{%- endmacro -%}

{#- DuckDB, Snowflake (TIMESTAMP is TIMESTAMP_NTZ by default), the SQL standard. -#}
{%- macro default__featurestore_naive_timestamp_type() -%}
timestamp
{%- endmacro -%}

{#- Spark's TIMESTAMP is an instant; the naive type is TIMESTAMP_NTZ.
    https://spark.apache.org/docs/latest/sql-ref-datatypes.html -#}
{%- macro spark__featurestore_naive_timestamp_type() -%}
timestamp_ntz
{%- endmacro -%}
