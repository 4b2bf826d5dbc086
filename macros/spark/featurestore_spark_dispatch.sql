{#-
  The adapter-dispatched macros whose Spark body is a one-liner (dbt only): literals for
  the generic tests, and the epoch helpers models may call. dbt-databricks falls back
  to these `spark__` bodies as well.
-#}

{#- Spark reads a backslash in a string literal as an escape, like Snowflake: doubled.
    https://spark.apache.org/docs/latest/sql-ref-literals.html#string-literal -#}
{% macro spark__featurestore_literal(value) %}
    {{- return(featurestore.featurestore_escaped_literal(value, backslash_escapes=true)) -}}
{% endmacro %}

{% macro spark__featurestore_epoch_us(ts) -%}
{{ featurestore.featurestore_epoch_us_sql(ts, 'spark') }}
{%- endmacro %}

{% macro spark__featurestore_from_epoch_us(us) -%}
{{ featurestore.featurestore_from_epoch_us_sql(us, 'spark') }}
{%- endmacro %}
