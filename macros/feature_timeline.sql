{#-
  Validity intervals of a feature view, per entity. Every column of the view's rows,
  plus:
    valid_from  = feature_ts
    valid_to    = the next value's feature_ts for the same keys (exclusive); null for
                  the latest
    expires_at  = feature_ts + ttl (inclusive); null without a ttl
  A row is visible at t iff
      valid_from <= t < coalesce(valid_to, +infinity)
      and (expires_at is null or t <= expires_at),
  which is exactly what as_of_join picks. When the view has a created_timestamp and
  two rows share (keys, feature_ts), the later created_timestamp is the correction:
  the superseded row is dropped.

  Time zones: valid_from, valid_to and expires_at are naive UTC, like every time the
  store adds. The view's own columns pass through unchanged; those the spec lists in
  `utc_columns` (timezone-aware: TIMESTAMPTZ, TIMESTAMP_TZ, TIMESTAMP_LTZ) are read as
  naive UTC for ordering and the intervals, so no result depends on the session's zone.
  feature_timeline_of fills `utc_columns` from the built relation.

  feature_timeline(relation, spec)     validates, then dispatches to
  duckdb__ / snowflake__ / default__feature_timeline   plain-Jinja bodies, also
                                       rendered outside dbt by featurestore/sql_render.py
  feature_timeline_of(view_name)       the same for a view named in the contracts
-#}

{% macro feature_timeline(relation, spec) %}
    {%- if relation is none or relation | string | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            "feature_timeline: `relation` must be the feature view's relation, e.g. "
            ~ "ref('fs_user__transactions'); got nothing.") }}
    {%- endif -%}
    {%- if spec is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "feature_timeline: `spec` must be a view spec like featurestore_contracts() "
            ~ "returns; got " ~ spec ~ ".") }}
    {%- endif -%}
    {%- for field in ['name', 'keys', 'timestamp'] -%}
        {%- if spec.get(field) is none or spec.get(field) | string | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "feature_timeline: the spec of `" ~ spec.get('name') ~ "` has no `" ~ field
                ~ "`; build it with featurestore_contracts().") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('feature_timeline', 'featurestore')(relation, spec)) }}
{% endmacro %}


{% macro feature_timeline_of(view_name) %}
    {%- set contracts = featurestore.featurestore_project_contracts('feature_timeline_of') -%}
    {%- if view_name not in contracts -%}
        {{ exceptions.raise_compiler_error(
            "feature_timeline_of: unknown feature view `" ~ view_name ~ "`; known views: "
            ~ (contracts.keys() | sort | join(', ')) ~ ".") }}
    {%- endif -%}
    {%- set spec = dict(contracts[view_name]) -%}
    {%- set relation = ref(spec['source']) -%}
    {%- set read = [spec['timestamp']] + ([spec['created_timestamp']] if spec.get('created_timestamp') else []) -%}
    {%- do spec.update({'utc_columns': featurestore.featurestore_tz_columns(relation, read)}) -%}
    {{ return(featurestore.feature_timeline(relation, spec)) }}
{% endmacro %}


{#- The shared shape; `latest_version` differs: QUALIFY where the warehouse has it. -#}
{%- macro featurestore_timeline_sql(relation, spec, dialect) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set ts = featurestore.featurestore_view_column(spec['timestamp'], spec, dialect) -%}
{%- set created = spec.get('created_timestamp') -%}
with

    -- 1. The view's rows.
    source_rows as (
        select * from {{ relation }}
    ),

    -- 2. Corrections: one row per (keys, feature_ts), the later created_timestamp wins.
    latest_version as (
{%- if not created %}
        select * from source_rows
{%- elif dialect in ('duckdb', 'snowflake') %}
        select * from source_rows
        qualify row_number() over (
            partition by {{ keys }}, {{ ts }}
            order by {{ featurestore.featurestore_view_column(created, spec, dialect) }} desc nulls last
        ) = 1
{%- elif dialect == 'spark' %}
        {#- no QUALIFY: row_number in a subquery, the row carried as a struct so the
            result keeps exactly the view's columns -#}
        select _fs_row.*
        from (
            select
                struct(source_rows.*) as _fs_row,
                row_number() over (
                    partition by {{ keys }}, {{ ts }}
                    order by {{ featurestore.featurestore_view_column(created, spec, dialect) }} desc nulls last
                ) as _fs_version_rank
            from source_rows
        ) as ranked
        where _fs_version_rank = 1
{%- else %}
        select * from source_rows
        where not exists (
            select 1
            from source_rows as correction
            where {{ featurestore.featurestore_keys_equal(spec['keys'], 'correction', 'source_rows') }}
              and {{ featurestore.featurestore_view_column(spec['timestamp'], spec, dialect, 'correction') }} = {{ featurestore.featurestore_view_column(spec['timestamp'], spec, dialect, 'source_rows') }}
              and {{ featurestore.featurestore_view_column(created, spec, dialect, 'correction') }} > {{ featurestore.featurestore_view_column(created, spec, dialect, 'source_rows') }}
        )
{%- endif %}
    ),

    -- 3. Each value holds from its feature_ts until the next one (exclusive) and at
    --    most until feature_ts + ttl (inclusive).
    final as (
        select
            latest_version.*,
            {{ ts }} as valid_from,
            lead({{ ts }}) over (
                partition by {{ keys }}
                order by {{ ts }}
            ) as valid_to,
{%- if spec.get('ttl_seconds') is not none %}
            {{ featurestore.featurestore_add_seconds(ts, spec['ttl_seconds'], dialect) }} as expires_at
{%- else %}
            cast(null as {{ 'timestamp_ntz' if dialect == 'spark' else 'timestamp' }}) as expires_at
{%- endif %}
        from latest_version
    )

select * from final
{%- endmacro -%}


{#- DuckDB QUALIFY and LEAD: https://duckdb.org/docs/stable/sql/query_syntax/qualify -#}
{% macro duckdb__feature_timeline(relation, spec) %}
{{ featurestore.featurestore_timeline_sql(relation, spec, 'duckdb') }}
{% endmacro %}


{#- Snowflake QUALIFY and DATEADD: https://docs.snowflake.com/en/sql-reference/constructs/qualify -#}
{% macro snowflake__feature_timeline(relation, spec) %}
{{ featurestore.featurestore_timeline_sql(relation, spec, 'snowflake') }}
{% endmacro %}


{#- Portable: LEAD window function and NOT EXISTS:
    https://en.wikipedia.org/wiki/Window_function_(SQL) -#}
{% macro default__feature_timeline(relation, spec) %}
{{ featurestore.featurestore_timeline_sql(relation, spec, 'default') }}
{% endmacro %}
