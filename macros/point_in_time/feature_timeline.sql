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
  default__feature_timeline            featurestore_timeline_body, whose corrections
                                       step differs per warehouse
                                       (featurestore_timeline_latest_version); rendered
                                       outside dbt too, by featurestore/sql_render.py
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


{#- Every warehouse: LEAD for valid_to, and the corrections step of its own
    (featurestore_timeline_latest_version: QUALIFY on DuckDB and Snowflake, a struct
    subquery on Spark, NOT EXISTS elsewhere).
    https://en.wikipedia.org/wiki/Window_function_(SQL) -#}
{% macro default__feature_timeline(relation, spec) %}
{{ featurestore.featurestore_timeline_body(relation, spec) }}
{% endmacro %}
