{#- The column of the candidate rows an as-of join compares with the event time
    (featurestore_candidate_ctes). -#}
{%- macro featurestore_asof_column(spec, known_at_event) -%}
{{ '_fs_asof_ts' if known_at_event and spec.get('created_timestamp') else '_fs_feature_ts' }}
{%- endmacro -%}
