{#-
  rolling_windows in buckets of entities: with `partitions` n > 1, the body (dbt's
  dispatch: prefix sums on DuckDB, running sums on Spark, RANGE frames elsewhere) runs
  once per bucket of entities, featurestore_key_bucket(keys, n) = 0, 1, ..., n - 1, and
  the buckets' rows are put together (featurestore_rolling_buckets). Every value of an
  entity depends on that entity's events alone, and the buckets split entities, never
  an entity, so the buckets hold exactly the rows of the body over every entity. What
  is not per entity is computed once, here, over the whole input, and each bucket's
  body reads it: the data horizon (the newest event of any entity; a bucket's own
  newest would cut its rows short), and in an incremental run the previous result's
  watermark and old horizon.

  Why: the DuckDB body sorts and joins every instant of its input at once, so its memory
  grows with the input (9 GiB for 6.4M events). A bucket's body holds about 1/n of it
  (docs/incremental.md has the figures). n = 1 is the body itself.
-#}
{%- macro featurestore_rolling_partitions_sql(spec) -%}
{%- if spec['partitions'] == 1 -%}
{{- adapter.dispatch('rolling_windows', 'featurestore')(spec) -}}
{%- else -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set ts_us = featurestore.featurestore_epoch_us(spec['event_ts']) -%}
{%- set shared -%}
{%- if spec['previous'] %}

    -- The whole input's times, for the previous result's watermark and the new horizon.
    _rw_all_source as (
        select
            {{ keys }},
            {{ ts_us }} as _rw_ts_us,
            {{ spec['loaded_at'] }} as _rw_loaded_at
        from {{ spec['relation'] }}
        where {{ spec['event_ts'] }} is not null
    ),
{{ featurestore.featurestore_rolling_new_events_ctes(spec, whole=true) }}
{%- else %}

{{ featurestore.featurestore_rolling_horizon_cte(spec, spec['relation']) }},
{%- endif %}
{%- endset -%}
{%- set sql = featurestore.featurestore_rolling_buckets(spec, shared | trim | trim(',')) -%}
{%- if spec['statements'] and not spec['previous'] -%}
{{- featurestore.featurestore_rolling_statements(spec, sql) -}}
{%- else -%}
{{- sql -}}
{%- endif -%}
{%- endif -%}
{%- endmacro -%}
