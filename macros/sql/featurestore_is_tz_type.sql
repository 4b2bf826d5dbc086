{#- Whether a warehouse column type holds timezone-aware timestamps; the same type name
    means another thing on another warehouse (Spark's TIMESTAMP is an instant, DuckDB's
    is naive), so each adapter answers for its own. -#}
{% macro featurestore_is_tz_type(data_type) %}
    {{ return(adapter.dispatch('featurestore_is_tz_type', 'featurestore')(data_type)) }}
{% endmacro %}

{#- DuckDB and Snowflake: "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMP_TZ(9)",
    "TIMESTAMP_LTZ", ...; a plain TIMESTAMP is naive on both.
    https://docs.snowflake.com/en/sql-reference/data-types-datetime -#}
{% macro default__featurestore_is_tz_type(data_type) %}
    {%- set base = modules.re.sub('\\([^)]*\\)', '', data_type | string) | upper -%}
    {%- set base = base.split() | join(' ') -%}
    {{ return(base in [
        'TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ',
        'TIMESTAMP_TZ', 'TIMESTAMP_LTZ', 'TIMESTAMPLTZ', 'TIMESTAMP WITH LOCAL TIME ZONE']) }}
{% endmacro %}

{#- Spark's TIMESTAMP is TIMESTAMP_LTZ, an instant, whatever spark.sql.timestampType
    makes of an unqualified `timestamp` in SQL; TIMESTAMP_NTZ is naive (dbt-spark reports
    the types as `timestamp` and `timestamp_ntz`).
    https://spark.apache.org/docs/latest/sql-ref-datatypes.html -#}
{% macro spark__featurestore_is_tz_type(data_type) %}
    {%- set base = (data_type | string).split('(')[0] | trim | lower -%}
    {{ return(base in ['timestamp', 'timestamp_ltz', 'timestamp with local time zone']) }}
{% endmacro %}
