{#- Known-at-event mode (featurestore_candidate_ctes, c): the rows that become the
    best answer when they are known, with `_fs_asof_ts`, the time they are known. -#}
{%- macro featurestore_known_candidate_ctes(name, relation, spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set ts = featurestore.featurestore_view_column(spec['timestamp'], spec) -%}
{%- set created = featurestore.featurestore_view_column(spec['created_timestamp'], spec) %}
    {{ name }}__known as (
        select
            {{ keys }},
            {{ ts }} as _fs_feature_ts,
            {{ created }} as _fs_created_ts,
            {%- for feature in spec['features'] %}
            {{ featurestore.featurestore_feature_read(feature, spec) }},
            {%- endfor %}
            {{ featurestore.featurestore_known_ts(ts, created) }} as _fs_known_ts
        from {{ relation }}
    ),

    {{ name }}__ranked as (
        select
            {{ name }}__known.*,
            max(_fs_feature_ts) over (
                partition by {{ keys }}
                order by _fs_known_ts, _fs_feature_ts, _fs_created_ts nulls first
                rows between unbounded preceding and 1 preceding
            ) as _fs_best_before,
            lead(_fs_known_ts) over (
                partition by {{ keys }}
                order by _fs_known_ts, _fs_feature_ts, _fs_created_ts nulls first
            ) as _fs_next_known_ts
        from {{ name }}__known
    ),

    {{ name }} as (
        select
            {{ keys }},
            _fs_feature_ts,
            {%- for feature in spec['features'] %}
            {{ feature['name'] }},
            {%- endfor %}
            _fs_known_ts as _fs_asof_ts
        from {{ name }}__ranked
        where (_fs_best_before is null or _fs_feature_ts >= _fs_best_before)
          and (_fs_next_known_ts is null or _fs_next_known_ts > _fs_known_ts)
    )
{%- endmacro -%}
