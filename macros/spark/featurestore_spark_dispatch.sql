{#-
  The adapter-dispatched macros whose Spark body is short (dbt only): literals for the
  generic tests, which column types are timezone-aware, and the epoch helpers models
  may call. dbt-databricks falls back
  to these `spark__` bodies as well.
-#}

{#- Spark reads a backslash in a string literal as an escape: a backslash and a quote
    are escaped with one, and `${` is written `$\{` (an escaped brace is the brace), so a
    session that substitutes variables in SQL text finds no `${env:NAME}` to replace;
    featurestore/dialects/spark.py `string_literal` writes the same literals in Python.
    https://spark.apache.org/docs/latest/sql-ref-literals.html#string-literal -#}
{% macro spark__featurestore_literal(value) %}
    {%- if value is string -%}
        {{- return("'" ~ value | replace('\\', '\\\\') | replace("'", "\\'") | replace('${', '$\\{') ~ "'") -}}
    {%- endif -%}
    {{- return(featurestore.featurestore_escaped_literal(value, backslash_escapes=true)) -}}
{% endmacro %}

{#- Spark's TIMESTAMP is TIMESTAMP_LTZ, an instant, whatever spark.sql.timestampType
    makes of an unqualified `timestamp` in SQL; TIMESTAMP_NTZ is naive (dbt-spark reports
    the types as `timestamp` and `timestamp_ntz`).
    https://spark.apache.org/docs/latest/sql-ref-datatypes.html -#}
{% macro spark__featurestore_is_tz_type(data_type) %}
    {%- set base = (data_type | string).split('(')[0] | trim | lower -%}
    {{ return(base in ['timestamp', 'timestamp_ltz', 'timestamp with local time zone']) }}
{% endmacro %}

{% macro spark__featurestore_epoch_us(ts) -%}
{{ featurestore.featurestore_epoch_us_sql(ts, 'spark') }}
{%- endmacro %}

{% macro spark__featurestore_from_epoch_us(us) -%}
{{ featurestore.featurestore_from_epoch_us_sql(us, 'spark') }}
{%- endmacro %}
