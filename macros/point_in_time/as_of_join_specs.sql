{#-
  The as-of join of `specs` (featurestore_contracts() entries with `relation`, and
  optionally a subset of `features` and `utc_columns`) onto `spine`: validates, then
  dispatches to the warehouse's body (as_of_join.sql has the rules):
    duckdb__, snowflake__   featurestore_asof_body: one ASOF join per view
    default__               featurestore_range_join_body: window functions, range join
    spark__                 featurestore_stream_join_body: one stream per view, no join
  The bodies are rendered outside dbt too, by featurestore/sql_render.py.
-#}
{% macro as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=none) %}
    {%- if spine is none or spine | string | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `spine` must be a relation, e.g. ref('training_spine'); got nothing.") }}
    {%- endif -%}
    {%- if event_ts is not string or event_ts | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `event_ts` must be the name of the spine's event time column, "
            ~ "e.g. 'event_ts'; got " ~ event_ts ~ ".") }}
    {%- endif -%}
    {%- if known_at_event is not sameas true and known_at_event is not sameas false -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `known_at_event` must be true or false; got " ~ known_at_event ~ ".") }}
    {%- endif -%}
    {%- if specs is string or specs is mapping or specs is not iterable or specs | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `specs` must be a non-empty list of view specs; got " ~ specs ~ ".") }}
    {%- endif -%}
    {%- set seen = [] -%}
    {%- for spec in specs -%}
        {%- do featurestore.featurestore_check_view_spec(spec, loop.index) -%}
        {%- if spec['name'] in seen -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join_specs: view `" ~ spec['name'] ~ "` is listed twice; list each view "
                ~ "once (its output columns would collide).") }}
        {%- endif -%}
        {%- do seen.append(spec['name']) -%}
    {%- endfor -%}
    {%- if spine_utc is none -%}
        {%- set spine_utc = featurestore.featurestore_tz_columns(spine, [event_ts]) | length > 0 -%}
    {%- elif spine_utc is not sameas true and spine_utc is not sameas false -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `spine_utc` must be true (the spine's event time is "
            ~ "timezone-aware), false, or none to ask the warehouse; got " ~ spine_utc ~ ".") }}
    {%- endif -%}
    {%- if spine_utc -%}
        {{ return(adapter.dispatch('as_of_join_specs', 'featurestore')(
            spine, specs, event_ts=event_ts, known_at_event=known_at_event, spine_utc=true)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('as_of_join_specs', 'featurestore')(
        spine, specs, event_ts=event_ts, known_at_event=known_at_event)) }}
{% endmacro %}


{#- DuckDB ASOF LEFT JOIN: https://duckdb.org/docs/stable/sql/query_syntax/from#as-of-joins -#}
{% macro duckdb__as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=false) %}
{{- featurestore.featurestore_asof_body(spine, specs, event_ts, known_at_event, spine_utc) -}}
{% endmacro %}


{#- Snowflake ASOF JOIN ... MATCH_CONDITION (null-pads unmatched left rows):
    https://docs.snowflake.com/en/sql-reference/constructs/asof-join -#}
{% macro snowflake__as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=false) %}
{{- featurestore.featurestore_asof_body(spine, specs, event_ts, known_at_event, spine_utc) -}}
{% endmacro %}


{#- Portable: window functions (LEAD) and a range LEFT JOIN on validity intervals:
    https://en.wikipedia.org/wiki/Window_function_(SQL) -#}
{% macro default__as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=false) %}
{{- featurestore.featurestore_range_join_body(spine, specs, event_ts, known_at_event, spine_utc) -}}
{% endmacro %}


{#- Spark (and Databricks, through dbt-databricks' fallback to `spark__`): union of spine
    and feature rows, last(..., true) over a running window.
    https://spark.apache.org/docs/latest/api/sql/#last -#}
{% macro spark__as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=false) %}
{{- featurestore.featurestore_stream_join_body(spine, specs, event_ts, known_at_event, spine_utc) -}}
{% endmacro %}
