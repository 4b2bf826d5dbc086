{#- One row per (keys, feature_ts), the later created_timestamp winning, a null one
    losing (featurestore_candidate_ctes, a and b); without a created_timestamp
    (`dedupe_always`), one of the tied rows. -#}
{%- macro featurestore_latest_candidate_ctes(name, relation, spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set ts = featurestore.featurestore_view_column(spec['timestamp'], spec) -%}
{%- set created = spec.get('created_timestamp') -%}
{%- if created -%}
{%- set created = featurestore.featurestore_view_column(created, spec) -%}
{%- endif %}
    {{ name }}__ranked as (
        select
            {{ keys }},
            {{ ts }} as _fs_feature_ts,
            {%- for feature in spec['features'] %}
            {{ featurestore.featurestore_feature_read(feature, spec) }},
            {%- endfor %}
            row_number() over (
                partition by {{ keys }}, {{ ts }}
                order by {{ created ~ ' desc nulls last' if created else ts }}
            ) as _fs_version_rank
        from {{ relation }}
    ),

    {{ name }} as (
        select
            {{ keys }},
            _fs_feature_ts,
            {%- for feature in spec['features'] %}
            {{ feature['name'] }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ name }}__ranked
        where _fs_version_rank = 1
    )
{%- endmacro -%}
