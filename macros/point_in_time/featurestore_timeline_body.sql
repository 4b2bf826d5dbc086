{#- The timeline body of every warehouse; the corrections step (`latest_version`) is
    featurestore_timeline_latest_version: QUALIFY where the warehouse has it. -#}
{%- macro featurestore_timeline_body(relation, spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set ts = featurestore.featurestore_view_column(spec['timestamp'], spec) -%}
with

    -- 1. The view's rows.
    source_rows as (
        select * from {{ relation }}
    ),

    -- 2. Corrections: one row per (keys, feature_ts), the later created_timestamp wins.
    latest_version as (
{%- if not spec.get('created_timestamp') %}
        select * from source_rows
{%- else %}
        {{ featurestore.featurestore_timeline_latest_version(spec) }}
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
            {{ featurestore.featurestore_add_seconds(ts, spec['ttl_seconds']) }} as expires_at
{%- else %}
            cast(null as {{ featurestore.featurestore_naive_timestamp_type() }}) as expires_at
{%- endif %}
        from latest_version
    )

select * from final
{%- endmacro -%}
