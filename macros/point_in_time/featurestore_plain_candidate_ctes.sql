{#- Every row of the view as a candidate (featurestore_candidate_ctes, b): a view
    without a created_timestamp has no corrections to drop. -#}
{%- macro featurestore_plain_candidate_ctes(name, relation, spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set ts = featurestore.featurestore_view_column(spec['timestamp'], spec) %}
    {{ name }} as (
        select
            {{ keys }},
            {{ ts }} as _fs_feature_ts,
            {%- for feature in spec['features'] %}
            {{ featurestore.featurestore_feature_read(feature, spec) }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }}
    )
{%- endmacro -%}
