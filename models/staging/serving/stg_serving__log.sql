{#-
  One row per served feature value: the serving log unnested, for skew and freshness
  analysis against the training rows. With no log file yet (a fresh project, or before the
  first `featurestore serve` request) the model is empty rather than failing: DuckDB's
  read_json_objects errors on a glob that matches nothing, so the files are counted first.
-#}
{%- set log_relation = source('serving', 'serving_log') -%}
{%- set has_files = true -%}
{%- if execute and target.type == 'duckdb' -%}
    {%- set pattern = env_var('FEATURESTORE_SERVING_LOG_DIR', 'warehouse/serving_log') ~ '/*.jsonl' -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {%- set has_files = found.columns[0].values()[0] > 0 -%}
{%- endif -%}

with

source as (
    {% if has_files -%}
    select json as line from {{ log_relation }}
    {%- else -%}
    select cast(null as json) as line where false
    {%- endif %}
),

served_keys as (
    select
        cast(replace(line ->> 'ts', 'Z', '') as timestamp) as served_at,
        line ->> 'request_id' as request_id,
        line ->> 'model' as model_name,
        line ->> 'entity' as entity,
        line -> 'key' as entity_key,
        line -> 'features' as features,
    from source
),

served_values as (
    select
        served_at,
        request_id,
        model_name,
        entity,
        entity_key,
        features,
        unnest(json_keys(features)) as feature_ref,
    from served_keys
),

final as (
    select
        served_at,
        request_id,
        model_name,
        entity,
        cast(entity_key as varchar) as entity_key,
        split_part(feature_ref, ':', 1) as feature_view,
        split_part(feature_ref, ':', 2) as feature_name,
        cast(json_extract(features, '$."' || feature_ref || '".value') as varchar)
            as value_json,
        cast(replace(json_extract_string(features, '$."' || feature_ref || '".feature_ts'),
                     'Z', '') as timestamp) as feature_ts,
        json_extract_string(features, '$."' || feature_ref || '".status') as status,
    from served_values
)

select * from final
