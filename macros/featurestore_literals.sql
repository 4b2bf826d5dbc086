{#-
  Contract values as SQL literals of the warehouse dbt runs on, for the generic tests
  (allowed_values). A backslash is an escape character in Snowflake's strings and plain
  text in DuckDB's, so each warehouse escapes its own way (Spark's body is in
  macros/spark/); the dialect classes (featurestore/dialects/, `string_literal`) write
  the same literals in Python.
    DuckDB: https://duckdb.org/docs/stable/sql/data_types/literal_types
    Snowflake: https://docs.snowflake.com/en/sql-reference/data-types-text
-#}

{% macro featurestore_literal(value) %}
    {{- return(adapter.dispatch('featurestore_literal', 'featurestore')(value)) -}}
{% endmacro %}

{% macro default__featurestore_literal(value) %}
    {{- return(featurestore.featurestore_escaped_literal(value, backslash_escapes=false)) -}}
{% endmacro %}

{% macro snowflake__featurestore_literal(value) %}
    {{- return(featurestore.featurestore_escaped_literal(value, backslash_escapes=true)) -}}
{% endmacro %}

{#- true/false, a number as it is, text between quotes with quotes doubled (and, where
    a backslash escapes, backslashes doubled). -#}
{% macro featurestore_escaped_literal(value, backslash_escapes) %}
    {%- if value is sameas true or value is sameas false -%}
        {{- return('true' if value else 'false') -}}
    {%- elif value is number -%}
        {{- return(value | string) -}}
    {%- elif value is string -%}
        {%- set text = value | replace('\\', '\\\\') if backslash_escapes else value -%}
        {{- return("'" ~ text | replace("'", "''") ~ "'") -}}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        "featurestore_literal: " ~ value ~ " is not text, a number, true or false.") }}
{% endmacro %}
