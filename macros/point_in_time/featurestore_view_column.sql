{#- A column of the view (optionally `alias.column`), as naive UTC when the spec lists it
    in `utc_columns` (case-insensitively: a timezone-aware column, DuckDB TIMESTAMPTZ,
    Snowflake TIMESTAMP_TZ or TIMESTAMP_LTZ, Spark TIMESTAMP), else as it is. -#}
{%- macro featurestore_view_column(column, spec, alias='') -%}
{%- set name = (alias ~ '.' if alias else '') ~ column -%}
{%- if column | lower in (spec.get('utc_columns') or []) | map('lower') | list -%}
{{ featurestore.featurestore_utc_naive(name) }}
{%- else -%}
{{ name }}
{%- endif -%}
{%- endmacro -%}
