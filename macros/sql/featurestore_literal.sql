{#-
  Contract values as SQL literals of the warehouse dbt runs on, for the generic tests
  (allowed_values). A backslash is an escape character in Snowflake's and Spark's
  strings and plain text in DuckDB's, so each warehouse escapes its own way; the dialect
  classes (featurestore/dialects/, `string_literal`) write the same literals in Python.
-#}
{% macro featurestore_literal(value) %}
    {{- return(adapter.dispatch('featurestore_literal', 'featurestore')(value)) -}}
{% endmacro %}

{#- https://duckdb.org/docs/stable/sql/data_types/literal_types -#}
{% macro default__featurestore_literal(value) %}
    {{- return(featurestore.featurestore_escaped_literal(value, backslash_escapes=false)) -}}
{% endmacro %}

{#- https://docs.snowflake.com/en/sql-reference/data-types-text -#}
{% macro snowflake__featurestore_literal(value) %}
    {{- return(featurestore.featurestore_escaped_literal(value, backslash_escapes=true)) -}}
{% endmacro %}

{#- Spark reads a backslash in a string literal as an escape: a backslash and a quote
    are escaped with one, and `${` is written `$\{` (an escaped brace is the brace), so a
    session that substitutes variables in SQL text finds no `${env:NAME}` to replace.
    https://spark.apache.org/docs/latest/sql-ref-literals.html#string-literal -#}
{% macro spark__featurestore_literal(value) %}
    {%- if value is string -%}
        {{- return("'" ~ value | replace('\\', '\\\\') | replace("'", "\\'") | replace('${', '$\\{') ~ "'") -}}
    {%- endif -%}
    {{- return(featurestore.featurestore_escaped_literal(value, backslash_escapes=true)) -}}
{% endmacro %}
